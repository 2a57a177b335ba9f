"""Request body limit (DESIGN.md §4: JSON bodies ≤ 64 KiB), answered with 413 and the error body.

A declared Content-Length over the limit is refused before the app runs. A body without one
(chunked) is counted as it streams: the chunk that crosses the limit is never handed to the app,
and whatever the app then tries to answer is replaced by the 413, so nothing is buffered.
Socket.IO long-polling posts are bounded by relay.realtime.transport_guard (same limit; it also
closes the session, which a 413 from here could not).
"""

import contextlib
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """Raised from receive() inside the app once the streamed body crosses the limit."""


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, exempt_prefix: str) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_prefix = exempt_prefix
        body = json.dumps(
            {
                "error": {
                    "code": "payload_too_large",
                    "message": f"request body exceeds the limit {max_bytes} bytes",
                }
            }
        ).encode()
        self.response_start: Message = {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the unread rest of the body must not be parsed as a request
            ],
        }
        self.response_body: Message = {"type": "http.response.body", "body": body}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefix):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self.refuse(send)
            return
        await _LimitedRequest(self, receive, send).run(scope)

    async def refuse(self, send: Send) -> None:
        await send(dict(self.response_start))
        await send(dict(self.response_body))


class _LimitedRequest:
    def __init__(self, limit: BodyLimit, receive: Receive, send: Send) -> None:
        self.limit = limit
        self.receive = receive
        self.send = send
        self.received = 0
        self.exceeded = False
        self.response_started = False

    async def run(self, scope: Scope) -> None:
        # Whether the app handled BodyTooLarge, let it escape or turned it into another error, the
        # client gets the 413 (other errors still propagate, to be logged).
        try:
            with contextlib.suppress(BodyTooLarge):
                await self.limit.app(scope, self.counting_receive, self.guarded_send)
        finally:
            if self.exceeded and not self.response_started:
                await self.limit.refuse(self.send)

    async def counting_receive(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit.max_bytes:
                self.exceeded = True
                raise BodyTooLarge(f"request body over {self.limit.max_bytes} bytes")
        return message

    async def guarded_send(self, message: Message) -> None:
        if self.exceeded:
            return  # the app's answer to the broken body (400/500) is replaced by the 413
        if message["type"] == "http.response.start":
            self.response_started = True
        await self.send(message)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
