"""API answers are never stored; hashed static assets are cached for a year."""

import httpx
import pytest

from relay.middleware.cache_control import IMMUTABLE, NO_STORE, REVALIDATE, cache_policy


async def test_api_responses_are_no_store(edge_client: httpx.AsyncClient) -> None:
    for path in ("/api/small", "/api/no-such-route", "/healthz"):
        response = await edge_client.get(path)
        assert response.headers["cache-control"] == "no-store", path


async def test_api_error_responses_are_no_store(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/boom")
    assert response.status_code == 500
    assert response.headers["cache-control"] == "no-store"


async def test_response_with_its_own_cache_control_keeps_it(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/private-cache")
    assert response.headers.get_list("cache-control") == ["private, max-age=60"]


async def test_hashed_static_asset_is_immutable(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/static/app.3f9a2c1b.js")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_unhashed_static_asset_is_revalidated(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/static/service-worker.js")
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    ("path", "policy"),
    [
        ("/api/channels/1/messages", NO_STORE),
        ("/static/index-BdXz8l3q.css", IMMUTABLE),
        ("/static/chunk.5fj2kq7a.js", IMMUTABLE),
        ("/static/favicon.ico", REVALIDATE),
        ("/static/manifest.webmanifest", REVALIDATE),
        ("/", None),
    ],
)
def test_cache_policy_by_path(path: str, policy: bytes | None) -> None:
    assert cache_policy(path) == policy
