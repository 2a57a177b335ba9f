"""Large responses are compressed (brotli preferred, gzip otherwise); small, binary and
already-encoded ones are left alone; Socket.IO long-polling still works through the stack."""

import gzip
import json

import brotli
import httpx

from relay.settings import Settings
from tests.utils.edge_app import LARGE_ITEMS, PNG_BYTES, build_edge_test_app
from tests.utils.server import served_client


async def test_large_json_is_brotli_compressed(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/large", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["content-encoding"] == "br"
    assert "accept-encoding" in response.headers["vary"].lower()
    assert int(response.headers["content-length"]) < len(json.dumps({"messages": LARGE_ITEMS})) / 3
    assert response.json() == {"messages": LARGE_ITEMS}


async def test_large_json_is_gzipped_for_gzip_only_clients(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/large", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json() == {"messages": LARGE_ITEMS}


async def test_brotli_refused_with_q_zero_falls_back_to_gzip(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/large", headers={"Accept-Encoding": "br;q=0, gzip"})
    assert response.headers["content-encoding"] == "gzip"


async def test_client_without_accept_encoding_gets_identity(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/large", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in response.headers
    assert response.json() == {"messages": LARGE_ITEMS}


async def test_tiny_response_is_not_compressed(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/small", headers={"Accept-Encoding": "br, gzip"})
    assert "content-encoding" not in response.headers
    assert response.json() == {"ok": "yes"}


async def test_already_compressed_media_is_not_compressed_again(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/image", headers={"Accept-Encoding": "br, gzip"})
    assert len(PNG_BYTES) > 1024
    assert "content-encoding" not in response.headers
    assert response.content == PNG_BYTES


async def test_streamed_response_is_compressed_chunk_by_chunk(edge_client: httpx.AsyncClient) -> None:
    async with edge_client.stream("GET", "/api/stream", headers={"Accept-Encoding": "br"}) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == "br"
    assert "content-length" not in response.headers
    lines = brotli.decompress(raw).decode().splitlines()
    assert [json.loads(line) for line in lines] == LARGE_ITEMS


async def test_socketio_long_polling_payload_is_encoded_once(settings: Settings) -> None:
    """engine.io gzips its own polling payloads over 1 KiB; the stack must not encode them again."""
    params = {"EIO": "4", "transport": "polling"}
    headers = {"Accept-Encoding": "gzip, br"}
    big = "x" * 4000
    async with served_client(build_edge_test_app(settings)) as client:
        opened = await client.get("/api/socketio/", params=params)
        sid = json.loads(opened.text[1:])["sid"]
        session = {**params, "sid": sid}
        await client.post("/api/socketio/", params=session, content="40")
        connected = await client.get("/api/socketio/", params=session)
        assert connected.text.startswith("40")
        packet = "421" + json.dumps(["echo", big])  # event with ack id 1
        await client.post("/api/socketio/", params=session, content=packet)
        async with client.stream("GET", "/api/socketio/", params=session, headers=headers) as ack:
            raw = b"".join([chunk async for chunk in ack.aiter_raw()])
    assert ack.headers.get_list("content-encoding") == ["gzip"]
    assert gzip.decompress(raw).decode() == "431" + json.dumps([big])
