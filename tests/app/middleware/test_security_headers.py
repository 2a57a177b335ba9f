"""Every HTTP response carries the hardening headers, error responses included (DESIGN.md §4)."""

import httpx
import pytest

from relay.middleware.security_headers import socket_origin
from tests.utils.asgi_client import asgi_client
from tests.utils.edge_app import build_edge_test_app
from tests.utils.redis_server import RedisServer
from tests.utils.settings import PUBLIC_URL, make_settings

HSTS_LOCAL_SECONDS = 300  # DESIGN §4: short locally, so browsers are not pinned to a self-signed cert
HSTS_PRODUCTION_SECONDS = 31_536_000

FIXED_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "origin-when-cross-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def assert_hardened(response: httpx.Response, *, hsts_seconds: int = HSTS_LOCAL_SECONDS) -> None:
    for name, value in FIXED_HEADERS.items():
        assert response.headers.get_list(name) == [value], f"{name} on {response.request.url}"
    assert response.headers["strict-transport-security"] == f"max-age={hsts_seconds}; includeSubDomains"
    csp = [part.strip() for part in response.headers["content-security-policy"].split(";")]
    assert "default-src 'self'" in csp
    connect = next(part.split() for part in csp if part.startswith("connect-src"))
    assert connect[1] == "'self'" and socket_origin(PUBLIC_URL) in connect
    assert "frame-ancestors 'none'" in csp


def test_socket_origin_is_the_public_host_over_wss() -> None:
    assert socket_origin("https://localhost:8443/") == "wss://localhost:8443"
    assert socket_origin("https://chat.example.com") == "wss://chat.example.com"


async def test_success_response_is_hardened(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/small")
    assert response.status_code == 200
    assert_hardened(response)


async def test_not_found_is_hardened(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/no-such-route")
    assert response.status_code == 404
    assert_hardened(response)


async def test_payload_too_large_is_hardened(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.post("/api/echo", content=b"x" * 70_000)
    assert response.status_code == 413
    assert_hardened(response)


async def test_server_error_is_hardened(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/boom")
    assert response.status_code == 500
    assert_hardened(response)


async def test_rate_limited_response_is_hardened(redis_server: RedisServer) -> None:
    app = build_edge_test_app(make_settings(redis_server.url, rate_ip_per_second=1))
    async with asgi_client(app) as client:
        headers = {"X-Forwarded-For": "198.51.100.77"}
        statuses = [(await client.get("/api/small", headers=headers)) for _ in range(3)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert_hardened(limited[0])


@pytest.mark.parametrize("environment", ["staging", "prod"])
async def test_hsts_is_one_year_outside_local_mode(redis_server: RedisServer, environment: str) -> None:
    app = build_edge_test_app(make_settings(redis_server.url, environment=environment))
    async with asgi_client(app) as client:
        response = await client.get("/api/small")
    assert_hardened(response, hsts_seconds=HSTS_PRODUCTION_SECONDS)
