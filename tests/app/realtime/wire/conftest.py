"""Conformance-mode servers on free ports of 127.0.0.1, and small raw clients for both transports.

The tests talk the wire protocol byte for byte, as the official suites do (their cases, our code).
"""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from relay.realtime.wire.conformance import CONFORMANCE, EngineEchoServer, socket_echo_server
from relay.realtime.wire.server import WireServer
from tests.utils.ports import free_port

PING_INTERVAL_MS, PING_TIMEOUT_MS = 300, 200
WAIT = 3.0  # seconds any single expected frame or response may take on a loaded machine


@dataclass
class Endpoint:
    base: str  # http://127.0.0.1:<port>/socket.io/
    http: httpx.AsyncClient

    def url(self, query: str) -> str:
        return f"{self.base}?{query}"

    def ws_url(self, query: str) -> str:
        return self.url(query).replace("http://", "ws://", 1)

    async def open_polling(self) -> str:
        response = await self.http.get(self.url("EIO=4&transport=polling"))
        assert response.status_code == 200, response.text
        return _sid(response.text)

    async def websocket(self, query: str = "EIO=4&transport=websocket") -> ClientConnection:
        return await websockets.connect(self.ws_url(query), max_size=None, open_timeout=WAIT)

    async def poll(self, sid: str, **extra) -> httpx.Response:
        return await self.http.get(self.url(f"EIO=4&transport=polling&sid={sid}"), **extra)

    async def push(self, sid: str, body: str | bytes) -> httpx.Response:
        return await self.http.post(self.url(f"EIO=4&transport=polling&sid={sid}"), content=body)


def _sid(handshake: str) -> str:
    assert handshake.startswith("0"), handshake
    return json.loads(handshake[1:])["sid"]


async def receive(socket: ClientConnection) -> str | bytes:
    return await asyncio.wait_for(socket.recv(), WAIT)


async def receive_skipping_pings(socket: ClientConnection) -> str | bytes:
    while (frame := await receive(socket)) == "2":
        await socket.send("3")
    return frame


async def closed(socket: ClientConnection, *, answer_pings: bool = True) -> bool:
    """True once the server closes the websocket; pings are answered, so that the close has
    another cause than a ping timeout (unless the test is about that)."""
    try:
        async with asyncio.timeout(WAIT):
            async for frame in socket:
                if frame == "2" and answer_pings:
                    await socket.send("3")
    except websockets.ConnectionClosed:
        pass
    return True


async def _serve(server: WireServer) -> AsyncIterator[Endpoint]:
    port = free_port()
    await server.listen("127.0.0.1", port)
    async with httpx.AsyncClient(timeout=WAIT) as http:
        yield Endpoint(f"http://127.0.0.1:{port}/socket.io/", http)
    await server.close()


@pytest.fixture
async def engine() -> AsyncIterator[Endpoint]:
    """The engine.io-protocol suite's server: Engine.IO messages are echoed."""
    async for endpoint in _serve(EngineEchoServer(CONFORMANCE)):
        yield endpoint


@pytest.fixture
async def socketio_server() -> AsyncIterator[Endpoint]:
    """The socket.io-protocol suite's server: echo handlers, `/custom`, binary attachments."""
    async for endpoint in _serve(socket_echo_server()):
        yield endpoint


@pytest.fixture(params=["engine.io-protocol", "socket.io-protocol"])
async def either(request) -> AsyncIterator[Endpoint]:
    """Cases both suites share (handshake, heartbeat, close, upgrade) run against both servers."""
    server = EngineEchoServer(CONFORMANCE) if request.param == "engine.io-protocol" else socket_echo_server()
    async for endpoint in _serve(server):
        yield endpoint
