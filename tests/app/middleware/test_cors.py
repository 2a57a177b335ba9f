"""CORS answers only the origins in RELAY_ALLOWED_ORIGINS; Socket.IO keeps answering its own."""

import httpx

from tests.utils.settings import ALLOWED_ORIGIN

OTHER_ORIGIN = "https://evil.example"


async def test_allowed_origin_gets_credentialed_cors_headers(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/small", headers={"Origin": ALLOWED_ORIGIN})
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "retry-after" in response.headers["access-control-expose-headers"].lower()


async def test_other_origin_gets_no_cors_headers(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/small", headers={"Origin": OTHER_ORIGIN})
    assert "access-control-allow-origin" not in response.headers


async def test_preflight_from_allowed_origin_is_answered(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.options(
        "/api/echo",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]


async def test_preflight_from_other_origin_is_refused(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.options(
        "/api/echo", headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_socketio_answers_its_own_cors_once(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get(
        "/api/socketio/", params={"EIO": "4", "transport": "polling"}, headers={"Origin": ALLOWED_ORIGIN}
    )
    assert response.status_code == 200
    assert response.headers.get_list("access-control-allow-origin") == [ALLOWED_ORIGIN]


async def test_socketio_refuses_other_origin(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get(
        "/api/socketio/", params={"EIO": "4", "transport": "polling"}, headers={"Origin": OTHER_ORIGIN}
    )
    assert response.status_code == 400
