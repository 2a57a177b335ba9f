"""Browser hardening headers on every HTTP response, errors included (DESIGN.md §4 Hardening).

The header block is built once in __init__; per response the middleware only appends the headers
the app did not set itself.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def socket_origin(public_url: str) -> str:
    """The websocket origin the browser client connects to: wss://host[:port] for https://host[:port]."""
    scheme, _, rest = public_url.partition("://")
    host = rest.split("/", 1)[0]
    return f"{'wss' if scheme == 'https' else 'ws'}://{host}"


def content_security_policy(public_url: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"connect-src 'self' {socket_origin(public_url)}",
            "img-src 'self' data: blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, public_url: str, hsts_seconds: int) -> None:
        self.app = app
        self.headers: list[tuple[bytes, bytes]] = [
            (b"content-security-policy", content_security_policy(public_url).encode()),
            (b"strict-transport-security", f"max-age={hsts_seconds}; includeSubDomains".encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"origin-when-cross-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = message.get("headers", [])
                present = {name.lower() for name, _ in existing}
                message["headers"] = [
                    *existing,
                    *(header for header in self.headers if header[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
