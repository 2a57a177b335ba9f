"""Serve an ASGI app with a real uvicorn on a free port, inside the test's event loop."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from starlette.types import ASGIApp

from relay.http_protocol import LimitedHttpToolsProtocol


@asynccontextmanager
async def serve(
    app: ASGIApp, http: type[LimitedHttpToolsProtocol] = LimitedHttpToolsProtocol
) -> AsyncIterator[str]:
    """Yields the base URL (http://127.0.0.1:<port>). Same flags as `relay serve`; `http` may carry
    other limits (`LimitedHttpToolsProtocol.with_limits`)."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        http=http,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        proxy_headers=False,
        lifespan="off",
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110  uvicorn exposes a flag, not an event
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


@asynccontextmanager
async def served_client(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking real HTTP to `app` served by uvicorn."""
    async with serve(app) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        yield client
