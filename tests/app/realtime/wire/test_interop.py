"""Unmodified clients against the native server in production mode: python-socketio's client and
the official JavaScript client, with default options (polling, then the upgrade) and websocket only.
"""

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from relay.realtime.wire.server import ConnectionRefused, WireConfig, WireServer
from tests.utils.ports import free_port

PATH = "/api/socketio"
JS_DIR = Path(__file__).resolve().parents[3] / "e2e" / "js"
requires_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
GOOD_TOKEN = "let-me-in"  # a test credential the connect handler below checks


def interop_server() -> WireServer:
    server = WireServer(WireConfig(path=PATH))

    async def connect(sid: str, environ: dict, auth: Any = None) -> None:
        if not isinstance(auth, dict) or auth.get("token") != GOOD_TOKEN:
            raise ConnectionRefused("invalid token")
        server.enter_room(sid, "everyone")

    async def echo(sid: str, data: Any = None) -> dict:
        return {"echoed": data}

    async def broadcast(sid: str, text: str) -> None:
        await server.emit("news", text, to="everyone")

    server.on("connect", connect)
    server.on("echo", echo)
    server.on("broadcast", broadcast)
    return server


@pytest.fixture
async def url() -> AsyncIterator[str]:
    server, port = interop_server(), free_port()
    await server.listen("127.0.0.1", port)
    yield f"http://127.0.0.1:{port}"
    await server.close()


@pytest.mark.parametrize("transports", [None, ["websocket"]], ids=["polling-then-upgrade", "websocket"])
async def test_python_socketio_client(url: str, transports: list[str] | None) -> None:
    client = socketio.AsyncClient(reconnection=False)
    news: asyncio.Queue = asyncio.Queue()
    client.on("news", news.put)
    await client.connect(
        url, socketio_path=PATH, auth={"token": GOOD_TOKEN}, transports=transports, wait_timeout=5
    )
    try:
        assert await client.call("echo", {"n": 1}, timeout=5) == {"echoed": {"n": 1}}
        await client.emit("broadcast", "hi")
        assert await asyncio.wait_for(news.get(), 5) == "hi"
        if transports is None:
            for _ in range(50):
                if client.transport() == "websocket":
                    break
                await asyncio.sleep(0.05)
        assert client.transport() == "websocket"
    finally:
        await client.disconnect()


async def test_python_socketio_client_gets_connect_error_with_the_reason(url: str) -> None:
    client = socketio.AsyncClient(reconnection=False)
    refusals: list[Any] = []
    client.on("connect_error", refusals.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(url, socketio_path=PATH, auth={"token": "wrong"}, transports=["websocket"])
    assert refusals == [{"message": "invalid token"}]


async def test_production_mode_refuses_other_namespaces(url: str) -> None:
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            url, socketio_path=PATH, namespaces=["/admin"], transports=["websocket"], wait_timeout=3
        )


def _run_js(payload: dict) -> dict:
    result = subprocess.run(
        ["node", str(JS_DIR / "wire_interop.mjs")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@requires_node
@pytest.mark.parametrize(
    "transports", [["polling", "websocket"], ["websocket"]], ids=["default", "websocket"]
)
async def test_official_javascript_client(url: str, transports: list[str]) -> None:
    assert (JS_DIR / "node_modules" / "socket.io-client").is_dir(), "run make js-deps"
    payload = {"url": url, "path": PATH, "transports": transports, "token": GOOD_TOKEN}
    outcome = await asyncio.to_thread(_run_js, payload)
    assert outcome == {"ack": {"echoed": {"hello": "world"}}, "news": "to everyone", "transport": "websocket"}


@requires_node
async def test_official_javascript_client_gets_connect_error_with_the_reason(url: str) -> None:
    assert (JS_DIR / "node_modules" / "socket.io-client").is_dir(), "run make js-deps"
    payload = {"url": url, "path": PATH, "transports": ["polling", "websocket"], "token": "wrong"}
    assert await asyncio.to_thread(_run_js, payload) == {"connect_error": "invalid token"}
