"""httpx client calling an ASGI app in process, as peer 127.0.0.1 (a trusted proxy by default)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.types import ASGIApp

BASE_URL = "https://localhost:8443"


@asynccontextmanager
async def asgi_client(app: ASGIApp, *, peer: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: a failing route must reach the client as the 500 it would send.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(peer, 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client
