"""Cache-Control defaults by path: API answers are private and change, hashed assets never do.

A response that sets its own Cache-Control keeps it.
"""

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = b"no-store"
IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"
# Build tools name hashed assets like app.3f9a2c1b.js or index-BdXz8l3q.css: a final name part of 8+
# letters and digits, at least one a digit (so service-worker.js or favicon.ico are not "hashed").
_HASHED_ASSET = re.compile(r"[.-](?=[A-Za-z0-9_]*\d)[A-Za-z0-9_]{8,}\.[A-Za-z0-9]+$")


def cache_policy(path: str, *, static_prefix: str = "/static/") -> bytes | None:
    if path.startswith("/api") or path in ("/healthz", "/readyz", "/metrics"):
        return NO_STORE
    if path.startswith(static_prefix):
        return IMMUTABLE if _HASHED_ASSET.search(path) else REVALIDATE
    return None


class CacheControl:
    def __init__(self, app: ASGIApp, *, static_prefix: str = "/static/") -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = cache_policy(scope["path"], static_prefix=self.static_prefix)
        if policy is None:
            await self.app(scope, receive, send)
            return

        async def send_with_cache_control(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    message["headers"] = [*headers, (b"cache-control", policy)]
            await send(message)

        await self.app(scope, receive, send_with_cache_control)
