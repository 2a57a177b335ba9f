"""Browser hardening headers on every HTTP response, errors included (DESIGN.md §4 Hardening).

The header block is built once in __init__; per response the middleware only appends the headers
the app did not set itself.
"""

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay.settings import Settings


def socket_origin(public_url: str) -> str:
    """The websocket origin the browser client connects to: wss://host[:port] for https://host[:port]."""
    scheme, _, rest = public_url.partition("://")
    host = rest.split("/", 1)[0]
    return f"{'wss' if scheme == 'https' else 'ws'}://{host}"


def upload_origins(settings: Settings) -> list[str]:
    """Where the browser POSTs presigned uploads: the local S3-compatible server, or the bucket."""
    if settings.s3_endpoint_url is not None:
        url = str(settings.s3_endpoint_url)
        return [f"{url.split('://')[0]}://{url.split('://')[1].split('/')[0]}"]
    bucket, region = settings.s3_bucket, settings.s3_region
    return [f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com"]


def content_security_policy(
    public_url: str, *, upload_origins: Sequence[str] = (), clerk_origin: str | None = None
) -> str:
    """Same-origin by default; Clerk's Frontend API (its SDK, API calls, sign-in frames and inline
    styles) is admitted only when Clerk is configured."""
    clerk = [clerk_origin] if clerk_origin else []
    directives = [
        "default-src 'self'",
        " ".join(["script-src 'self'", *clerk]),
        " ".join(["connect-src 'self'", socket_origin(public_url), *upload_origins, *clerk]),
        " ".join(["img-src 'self' data: blob:", *(["https://img.clerk.com"] if clerk else [])]),
        "worker-src 'self' blob:" if clerk else "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    if clerk:
        directives += ["style-src 'self' 'unsafe-inline'", f"frame-src {clerk_origin}"]
    return "; ".join(directives)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, csp: str, hsts_seconds: int) -> None:
        self.app = app
        self.headers: list[tuple[bytes, bytes]] = [
            (b"content-security-policy", csp.encode()),
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
