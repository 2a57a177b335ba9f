"""Bodies over RELAY_MAX_BODY_BYTES get 413 with the error body, declared or streamed."""

from collections.abc import AsyncIterator

import httpx

from relay.settings import Settings
from tests.utils.edge_app import build_edge_test_app
from tests.utils.server import served_client

CHUNK = 16 * 1024


def expected_error(settings: Settings) -> dict[str, dict[str, str]]:
    return {
        "error": {
            "code": "payload_too_large",
            "message": f"request body exceeds the limit {settings.max_body_bytes} bytes",
        }
    }


async def test_body_at_the_limit_is_accepted(edge_client: httpx.AsyncClient, settings: Settings) -> None:
    response = await edge_client.post("/api/echo", content=b"x" * settings.max_body_bytes)
    assert response.status_code == 200
    assert response.json() == {"received": settings.max_body_bytes}


async def test_declared_length_over_the_limit_is_refused(
    edge_client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await edge_client.post("/api/echo", content=b"x" * (settings.max_body_bytes + 1))
    assert response.status_code == 413
    assert response.json() == expected_error(settings)
    assert "65536" in response.json()["error"]["message"]


async def test_chunked_body_over_the_limit_is_refused_without_reading_it_all(
    edge_client: httpx.AsyncClient, settings: Settings
) -> None:
    sent_chunks = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent_chunks
        for _ in range(64):  # 1 MiB offered in 16 KiB chunks
            sent_chunks += 1
            yield b"x" * CHUNK

    response = await edge_client.post("/api/echo", content=body())
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413
    assert response.json() == expected_error(settings)
    # The chunk that crossed 64 KiB was the last one read: the rest of the megabyte never was.
    assert sent_chunks == settings.max_body_bytes // CHUNK + 1


async def test_chunked_body_over_the_limit_is_refused_even_if_the_app_rewraps_the_error(
    edge_client: httpx.AsyncClient, settings: Settings
) -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"x" * CHUNK

    response = await edge_client.post("/api/echo-rewrapped", content=body())
    assert response.status_code == 413
    assert response.json() == expected_error(settings)


async def test_chunked_body_over_the_limit_is_refused_by_a_real_server(settings: Settings) -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(5):  # 80 KiB: small enough to sit in socket buffers while the 413 comes back
            yield b"x" * CHUNK

    async with served_client(build_edge_test_app(settings)) as client:
        response = await client.post("/api/echo", content=body())
    assert response.status_code == 413
    assert response.json() == expected_error(settings)


async def test_chunked_body_under_the_limit_reaches_the_app(settings: Settings) -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * CHUNK

    async with served_client(build_edge_test_app(settings)) as client:
        response = await client.post("/api/echo", content=body())
    assert response.status_code == 200
    assert response.json() == {"received": 3 * CHUNK}
