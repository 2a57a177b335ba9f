"""Outermost layer: client IP, request id, one JSON access-log line and the latency metrics.

It wraps the OUTER app (socket.io included, STYLE.md §2 habit 5), so websocket connections get a
request id and a log line too (written when the connection closes). The log line carries the
path without its query string: socket.io and some clients put tokens there.
"""

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay.logging import RequestContext, request_context
from relay.metrics import REQUEST_LATENCY, REQUESTS_IN_FLIGHT, UNMATCHED_ROUTE
from relay.middleware.client_ip import TrustedProxies

REQUEST_ID_HEADER = b"x-request-id"
# An incoming id lands in every log line: accept only short, plain ones (no log injection).
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")

access_log = logging.getLogger("relay.access")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, trusted_proxies: TrustedProxies, socketio_path: str) -> None:
        self.app = app
        self.trusted = trusted_proxies
        self.socketio_path = socketio_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        peer = scope["client"][0] if scope.get("client") else None
        forwarded_for, incoming_id = _read_headers(scope)
        from_proxy = peer is not None and self.trusted.contains(peer)
        client_ip = self.trusted.resolve_client_ip(peer, forwarded_for) if from_proxy else peer
        if from_proxy and client_ip != peer and client_ip is not None:
            scope["client"] = (client_ip, 0)
        if from_proxy and incoming_id is not None and _VALID_REQUEST_ID.fullmatch(incoming_id):
            request_id = incoming_id.decode()
        else:
            request_id = uuid.uuid4().hex
        context = RequestContext(request_id=request_id, client_ip=client_ip)
        token = request_context.set(context)
        status = 500  # what the client gets if the app raises before answering
        header_value = request_id.encode()

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start" or kind == "websocket.http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, header_value)]
            elif kind == "websocket.accept":
                status = 101
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, header_value)]
            elif kind == "websocket.close" and status == 500:
                status = 403  # closed before accept: the handshake was refused
            await send(message)

        is_http = scope["type"] == "http"
        if is_http:
            REQUESTS_IN_FLIGHT.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            duration = time.perf_counter() - started
            route = self._route_template(scope)
            if is_http:
                REQUESTS_IN_FLIGHT.dec()
                REQUEST_LATENCY.labels(scope["method"], route, str(status)).observe(duration)
            if context.user_id is None:  # the app may set request.state.user_id instead of binding
                context.user_id = scope.get("state", {}).get("user_id")
            self._log(scope, context, route, status, duration)
            request_context.reset(token)

    def _route_template(self, scope: Scope) -> str:
        template = route_template(scope)
        if template is not None:
            return template
        if scope["path"].startswith(self.socketio_path):
            return self.socketio_path
        return UNMATCHED_ROUTE

    def _log(self, scope: Scope, context: RequestContext, route: str, status: int, duration: float) -> None:
        access_log.info(
            "%s %s %d",
            scope.get("method", "WEBSOCKET"),
            scope["path"],
            status,
            extra={
                "method": scope.get("method", "WEBSOCKET"),
                "path": scope["path"],
                "route": route,
                "status": status,
                "duration_ms": round(duration * 1000, 3),
                "client_ip": context.client_ip,
            },
        )


def route_template(scope: Scope) -> str | None:
    """The matched route's template with its router prefix, e.g. /api/channels/{channel_id}.

    FastAPI leaves the route object of an included router in scope["route"], whose template lacks
    the include_router prefix; the prefix is the part of the path before the route's own match."""
    route = scope.get("route")
    template, pattern = getattr(route, "path_format", None), getattr(route, "path_regex", None)
    if not isinstance(template, str) or pattern is None:
        return None
    path = scope["path"]
    if pattern.match(path):
        return template
    for index, char in enumerate(path):
        if char == "/" and index and pattern.match(path[index:]):
            return path[:index] + template
    return template


def _read_headers(scope: Scope) -> tuple[str | None, bytes | None]:
    """X-Forwarded-For (all occurrences joined, in order) and X-Request-ID, in one pass."""
    forwarded: list[str] = []
    request_id = None
    for name, value in scope["headers"]:
        if name == b"x-forwarded-for":
            forwarded.append(value.decode("latin-1"))
        elif name == REQUEST_ID_HEADER:
            request_id = value
    return (",".join(forwarded) if forwarded else None), request_id
