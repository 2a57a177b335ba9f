"""CORS allow-list from RELAY_ALLOWED_ORIGINS, for everything but the Socket.IO endpoint.

Socket.IO answers CORS itself (its `cors_allowed_origins` comes from the same setting, set by the
app); a second layer here would duplicate its headers and answer its preflights for it.
"""

from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
# Retry-After must be readable by browser code to back off after a 429.
EXPOSED_HEADERS = ("X-Request-ID", "Retry-After")


class Cors:
    def __init__(self, app: ASGIApp, *, allowed_origins: Sequence[str], socketio_path: str) -> None:
        self.app = app
        self.socketio_path = socketio_path
        self.cors = CORSMiddleware(
            app,
            allow_origins=allowed_origins,
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            allow_credentials=True,  # the __session cookie
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(self.socketio_path):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
