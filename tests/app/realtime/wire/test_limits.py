"""The native listener's limits and CORS, over real sockets: every refusal is a 4xx with a reason."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets

from relay.realtime.wire.server import WireConfig, WireServer
from tests.utils.ports import free_port

ORIGIN = "https://chat.example"
LIMIT = 65_536


@pytest.fixture
async def port() -> AsyncIterator[int]:
    server = WireServer(
        WireConfig(path="/api/socketio", allowed_origins=frozenset({ORIGIN}), request_timeout=0.5)
    )
    chosen = free_port()
    await server.listen("127.0.0.1", chosen)
    yield chosen
    await server.close()


def _url(port: int, query: str = "EIO=4&transport=polling") -> str:
    return f"http://127.0.0.1:{port}/api/socketio/?{query}"


async def _open(client: httpx.AsyncClient, port: int) -> str:
    response = await client.get(_url(port))
    return response.text.split('"sid":"')[1].split('"')[0]


async def test_polling_cors_answers_the_allowed_origin_and_refuses_others(port: int) -> None:
    async with httpx.AsyncClient() as client:
        allowed = await client.get(_url(port), headers={"Origin": ORIGIN})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ORIGIN
        assert allowed.headers["access-control-allow-credentials"] == "true"
        preflight = await client.options(_url(port), headers={"Origin": ORIGIN})
        assert preflight.status_code == 204
        assert "POST" in preflight.headers["access-control-allow-methods"]
        refused = await client.get(_url(port), headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "origin_not_allowed"


async def test_websocket_from_another_origin_is_refused(port: int) -> None:
    with pytest.raises(websockets.InvalidStatus) as refusal:
        await websockets.connect(
            _url(port, "EIO=4&transport=websocket").replace("http", "ws", 1), origin="https://evil.example"
        )
    assert refusal.value.response.status_code == 403


async def test_oversize_polling_post_is_413_and_closes_the_session(port: int) -> None:
    async with httpx.AsyncClient() as client:
        sid = await _open(client, port)
        response = await client.post(
            _url(port, f"EIO=4&transport=polling&sid={sid}"), content=b"4" * (LIMIT + 1)
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert (await client.get(_url(port, f"EIO=4&transport=polling&sid={sid}"))).status_code == 400


async def test_chunked_oversize_post_is_answered_mid_upload(port: int) -> None:
    async with httpx.AsyncClient() as client:
        sid = await _open(client, port)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST /api/socketio/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    chunk = b"4" + b"x" * 8191
    for _ in range(LIMIT // len(chunk) + 1):  # just past the limit, then wait for the answer
        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    assert (await asyncio.wait_for(reader.readline(), 3)).startswith(b"HTTP/1.1 413")
    writer.close()


async def test_websocket_message_over_the_limit_closes_with_1009(port: int) -> None:
    async with websockets.connect(_url(port, "EIO=4&transport=websocket").replace("http", "ws", 1)) as ws:
        await ws.recv()
        await ws.send("4" + "x" * LIMIT)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 3)
    assert closed.value.rcvd.code == 1009


async def test_oversize_head_is_431(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /api/socketio/?EIO=4&transport=polling HTTP/1.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    )
    assert (await asyncio.wait_for(reader.readline(), 3)).startswith(b"HTTP/1.1 431")
    writer.close()


async def test_a_trickled_request_is_408(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /api/socketio/?EIO=4&transport=polling HTTP/1.1\r\nHost:")  # and nothing more
    assert (await asyncio.wait_for(reader.readline(), 3)).startswith(b"HTTP/1.1 408")
    writer.close()


async def test_a_session_that_never_connects_is_closed_after_the_connect_timeout() -> None:
    server = WireServer(WireConfig(path="/api/socketio", connect_timeout=0.3))
    chosen = free_port()
    await server.listen("127.0.0.1", chosen)
    try:
        async with websockets.connect(
            _url(chosen, "EIO=4&transport=websocket").replace("http", "ws", 1)
        ) as ws:
            await ws.recv()
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 3)
        assert server.sessions == {}
    finally:
        await server.close()
