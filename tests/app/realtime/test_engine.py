"""relay.realtime.engine at the library boundary: a server-side close of a long-polling session
never waits for a poll, and sessions without a Socket.IO CONNECT close after connect_timeout."""

import asyncio
import json

import httpx
import socketio

from relay.realtime.engine import RelayEngineServer, RelaySocketServer
from tests.utils.server import serve

PATH = "/api/socketio/"
HANDSHAKE = {"EIO": "4", "transport": "polling"}


async def open_session(client: httpx.AsyncClient) -> str:
    response = await client.get(PATH, params=HANDSHAKE)
    return json.loads(response.text[1:])["sid"]


async def test_closing_a_polling_session_does_not_wait_for_a_poll() -> None:
    server = RelaySocketServer(async_mode="asgi", connect_timeout=45)
    assert isinstance(server.eio, RelayEngineServer)
    app = socketio.ASGIApp(server, socketio_path="api/socketio")
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=5) as client:
        sid = await open_session(client)
        async with asyncio.timeout(2):  # python-engineio's own disconnect waits here for good
            await server.eio.disconnect(sid)
        gone = await client.get(PATH, params={**HANDSHAKE, "sid": sid})
    assert gone.status_code == 400


async def test_session_without_connect_is_closed_after_the_timeout() -> None:
    server = RelaySocketServer(async_mode="asgi", connect_timeout=0.5)
    app = socketio.ASGIApp(server, socketio_path="api/socketio")
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=5) as client:
        idle = await open_session(client)
        connected = await open_session(client)
        await client.post(PATH, params={**HANDSHAKE, "sid": connected}, content=b"40")
        await client.get(PATH, params={**HANDSHAKE, "sid": connected})  # the CONNECT ack
        await asyncio.sleep(1.0)
        assert idle not in server.eio.sockets
        assert connected in server.eio.sockets
