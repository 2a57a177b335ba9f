"""What python-engineio must not see: handshake floods and long-polling POSTs it cannot answer.

Pure ASGI, around the Socket.IO app and inside the edge stack (the client IP is already resolved):
- A new Engine.IO session (a GET or websocket without `sid`) takes a token from the client IP's
  handshake budget (DESIGN §4: 20/s, bursts of 40); over it, 429 with Retry-After.
- A long-polling POST is read here, at most `max_bytes`, and checked before engine.io parses it:
  only the packets a client may send (CLOSE, PONG, MESSAGE, binary MESSAGE) pass. Anything else
  is answered 413/400 with the reason, and the session is closed, as the reference server does.
The rest of the socket traffic is not limited per IP: polling is transport, and messages are
limited per user.
"""

import base64
import binascii
import json
import urllib.parse

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay.logging import request_context
from relay.ratelimit import RateLimiter, send_rate_limited

RECORD_SEPARATOR = "\x1e"
# Engine.IO v4 packet types a client sends on the polling transport: close, pong, message, binary.
CLIENT_PACKET_TYPES = frozenset("134b")


class PollingRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class TransportGuard:
    def __init__(
        self, app: ASGIApp, *, engine, limiter: RateLimiter, socketio_path: str, max_bytes: int
    ) -> None:
        self.app = app
        self.engine = engine  # the engine.io server, to close a session whose POST is refused
        self.limiter = limiter
        self.socketio_path = socketio_path
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith(self.socketio_path):
            await self.app(scope, receive, send)
            return
        query = urllib.parse.parse_qs(scope["query_string"].decode("latin-1"))
        sid = query.get("sid", [None])[0]
        method = scope.get("method", "GET")
        if sid is None and method == "GET" and not await self._handshake_allowed(scope, receive, send):
            return
        if sid is not None and method == "POST":
            await self._polling_post(scope, receive, send, sid)
            return
        await self.app(scope, receive, send)

    async def _handshake_allowed(self, scope: Scope, receive: Receive, send: Send) -> bool:
        context = request_context.get()
        if context is None or context.client_ip is None:
            return True
        decision = await self.limiter.hit_handshake(context.client_ip)
        if decision.allowed:
            return True
        if scope["type"] == "http":
            await send_rate_limited(send, decision)
            return False
        await receive()  # websocket.connect
        if "websocket.http.response" in scope.get("extensions", {}):
            await send_rate_limited(_WebsocketDenial(send), decision)
        else:
            await send({"type": "websocket.close", "code": 1008})
        return False

    async def _polling_post(self, scope: Scope, receive: Receive, send: Send, sid: str) -> None:
        try:
            body = await self._read_body(scope, receive)
            _check_payload(body)
        except PollingRefused as refusal:
            await _send_error(send, refusal)
            await self.engine.disconnect(sid)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        too_large = PollingRefused(
            413, "payload_too_large", f"polling payload exceeds the limit {self.max_bytes} bytes"
        )
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                raise too_large
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise PollingRefused(400, "bad_request", "the client went away mid-body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _check_payload(body: bytes) -> None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PollingRefused(400, "bad_request", "polling payload is not UTF-8") from None
    for packet in text.split(RECORD_SEPARATOR):
        kind = packet[:1]
        if kind not in CLIENT_PACKET_TYPES:
            shown = repr(kind) if kind else "an empty packet"
            raise PollingRefused(
                400, "bad_request", f"packet type {shown} is not one a client sends (close, pong, message)"
            )
        if kind == "b":
            try:
                base64.b64decode(packet[1:], validate=True)
            except binascii.Error:
                raise PollingRefused(400, "bad_request", "binary packet is not base64") from None


async def _send_error(send: Send, refusal: PollingRefused) -> None:
    body = json.dumps({"error": {"code": refusal.code, "message": refusal.message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # an unread rest of the body must not be parsed as a request
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _WebsocketDenial:
    """Turns the http.response messages of a refusal into their websocket denial counterparts."""

    def __init__(self, send: Send) -> None:
        self.send = send

    async def __call__(self, message: Message) -> None:
        await self.send({**message, "type": message["type"].replace("http.", "websocket.http.", 1)})
