"""Every request, websocket included, gets a request id echoed in the response and one JSON access
line carrying it; nothing secret reaches the log even when the request carries it."""

import asyncio
import io
import json
import re

import httpx
import websockets

from relay.settings import Settings
from tests.utils.asgi_client import asgi_client
from tests.utils.edge_app import build_edge_test_app
from tests.utils.logs import access_lines, log_lines
from tests.utils.redis_server import RedisServer
from tests.utils.server import serve
from tests.utils.settings import make_settings

JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInNpZCI6InNlc3MxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
)


async def test_generated_request_id_is_echoed_and_logged(
    edge_client: httpx.AsyncClient, log_output: io.StringIO
) -> None:
    response = await edge_client.get("/api/small")
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    line = access_lines(log_output)[-1]
    assert line["request_id"] == request_id
    assert line["method"] == "GET"
    assert line["path"] == "/api/small"
    assert line["status"] == 200
    assert line["replica"] == "test-replica"
    assert line["duration_ms"] >= 0


async def test_request_id_from_trusted_proxy_is_kept(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/small", headers={"X-Request-ID": "lb-1234.abc"})
    assert response.headers["x-request-id"] == "lb-1234.abc"


async def test_request_id_from_untrusted_peer_is_replaced(redis_server: RedisServer) -> None:
    async with asgi_client(
        build_edge_test_app(make_settings(redis_server.url)), peer="198.51.100.9"
    ) as client:
        response = await client.get("/api/small", headers={"X-Request-ID": "chosen-by-client"})
    assert response.headers["x-request-id"] != "chosen-by-client"


async def test_request_id_with_unsafe_characters_is_replaced(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/small", headers={"X-Request-ID": 'x" injected="1'})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_error_responses_carry_the_request_id(edge_client: httpx.AsyncClient) -> None:
    for method, path in [("GET", "/api/no-such-route"), ("GET", "/api/boom"), ("POST", "/api/echo")]:
        response = await edge_client.request(
            method, path, content=b"x" * 70_000 if method == "POST" else None
        )
        assert response.status_code in (404, 500, 413)
        assert "x-request-id" in response.headers, path


async def test_access_line_has_route_template_and_user_id(
    edge_client: httpx.AsyncClient, log_output: io.StringIO
) -> None:
    await edge_client.get("/api/users/alice/limited")
    line = access_lines(log_output)[-1]
    assert line["route"] == "/api/users/{user_id}/limited"
    assert line["user_id"] == "alice"


async def test_unmatched_paths_share_one_route_label(
    edge_client: httpx.AsyncClient, log_output: io.StringIO
) -> None:
    await edge_client.get("/api/random-1234")
    assert access_lines(log_output)[-1]["route"] == "<unmatched>"


async def test_server_error_is_logged_as_500(edge_client: httpx.AsyncClient, log_output: io.StringIO) -> None:
    await edge_client.get("/api/boom")
    assert access_lines(log_output)[-1]["status"] == 500


async def test_logs_hold_no_token_cookie_or_authorization(
    edge_client: httpx.AsyncClient, log_output: io.StringIO
) -> None:
    await edge_client.get(
        f"/api/users/bob/limited?token={JWT}&access_token=plain-secret",
        headers={"Authorization": f"Bearer {JWT}", "Cookie": f"__session={JWT}"},
    )
    await edge_client.post("/api/echo", content=b'{"body": "the secret plans"}')
    output = log_output.getvalue()
    assert access_lines(log_output), "expected access lines to inspect"
    for secret in (JWT, "plain-secret", "Bearer", "__session", "the secret plans"):
        assert secret not in output
    # httpx logs the URL it called: its query survives only in redacted form.
    assert not re.search(r"token=(?!\[redacted\])", output)


async def test_websocket_connection_gets_request_id_and_access_line(
    settings: Settings, log_output: io.StringIO
) -> None:
    async with serve(build_edge_test_app(settings)) as base_url:
        ws_url = base_url.replace("http://", "ws://") + "/api/socketio/?EIO=4&transport=websocket"
        async with websockets.connect(ws_url) as socket:
            handshake_id = socket.response.headers["x-request-id"]
            opened = await asyncio.wait_for(socket.recv(), timeout=5)
            assert opened.startswith("0")
            await socket.send("40")
            assert (await asyncio.wait_for(socket.recv(), timeout=5)).startswith("40")
            await socket.send("421" + json.dumps(["echo", "hello"]))
            assert await asyncio.wait_for(socket.recv(), timeout=5) == "431" + json.dumps(["hello"])
        await asyncio.sleep(0.2)  # the access line is written when the connection ends
    lines = [line for line in access_lines(log_output) if line["method"] == "WEBSOCKET"]
    assert lines and lines[-1]["request_id"] == handshake_id
    assert lines[-1]["status"] == 101
    assert lines[-1]["route"] == "/api/socketio"
    assert all("request_id" in line for line in log_lines(log_output) if line["logger"] == "relay.access")
