"""The listener's connection protocol: HTTP/1.1 long-polling, CORS, and the websocket upgrade.

One `WireConnection` per TCP connection, parsed with httptools (the parser uvicorn uses). A
connection serves polling requests one after another (keep-alive) or, after a `101`, websocket
frames for one Engine.IO session. Every refusal is a 4xx with a JSON reason (DESIGN §4a body).
"""

import asyncio
import json
import logging
import socket
import urllib.parse
import uuid
from typing import TYPE_CHECKING

import httptools

from relay.realtime.wire import eio, session, websocket

if TYPE_CHECKING:
    from relay.realtime.wire.server import WireServer

log = logging.getLogger(__name__)
# The limits relay.http_protocol puts on uvicorn (issue 7), and haproxy's: a request head of at most
# 16 KiB (else 431), a request read within WireConfig.request_timeout (10 s) of the connection
# opening or going idle (else 408).
MAX_HEAD_BYTES = 16 * 1024
REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    413: "Payload Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
}
CORS_METHODS = b"GET, POST, OPTIONS"


class Request:
    __slots__ = ("body", "headers", "method", "path", "query", "too_large")

    def __init__(self) -> None:
        self.method, self.path, self.query = "", "", {}
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.too_large = False

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class WireConnection(asyncio.Protocol):
    def __init__(self, server: "WireServer") -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self._parser = httptools.HttpRequestParser(self)
        self._request = Request()
        self._url = b""
        self._waiting: list[Request] = []  # requests behind a held poll on this connection
        self._holding: session.EngineSession | None = None  # the session whose poll this holds
        self._holding_cors: list[tuple[bytes, bytes]] = []
        self._frames: websocket.FrameReader | None = None
        self._session: session.EngineSession | None = None  # the websocket's session
        self._probing = False
        self._closing = False
        self._head_bytes = 0  # of the request being read, from the parser's callbacks
        self._raw_head_bytes = 0  # of the reads that ended inside that request's head
        self._in_head = True
        self._deadline: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.server.config.send_buffer)
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if peer else ""
        self._arm_deadline()

    def data_received(self, data: bytes) -> None:
        if self._frames is not None:
            self._websocket_data(data)
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._upgrade(data[upgrade.args[0] :])
            return
        except httptools.HttpParserError:
            self.respond(400, _error("bad_request", "malformed HTTP request"), close=True)
            return
        if self._in_head:  # a read that ends inside the head: all of it is head
            self._raw_head_bytes += len(data)
            if max(self._raw_head_bytes, self._head_bytes) > MAX_HEAD_BYTES:
                self._refuse_head()

    def _refuse_head(self) -> None:
        """httptools hands a header over only once it is whole: raw reads and callbacks both count."""
        if not self.transport.is_closing():
            limit = f"request line and headers exceed {MAX_HEAD_BYTES} bytes"
            self.respond(431, _error("headers_too_large", limit), close=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_deadline()
        if self._holding is not None:
            self._holding.poll_lost(self)
        current = self._session
        if current is not None:
            if current.websocket is self:
                current.close(session.TRANSPORT_CLOSE, notify_client=False)
            elif current.probe is self:
                current.probe, current.upgrading = None, False

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._request, self._url = Request(), b""

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_bytes += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        self._request.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._in_head = False
        parsed = httptools.parse_url(self._url)
        request = self._request
        request.method = self._parser.get_method().decode("ascii")
        request.path = parsed.path.decode("latin-1")
        request.query = urllib.parse.parse_qs((parsed.query or b"").decode("latin-1"))
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.server.config.max_payload:
            self.on_body(b"\0" * (self.server.config.max_payload + 1))  # refused before it is sent

    def on_body(self, body: bytes) -> None:
        request = self._request
        if request.too_large or self.transport.is_closing():
            return
        if len(request.body) + len(body) <= self.server.config.max_payload:
            request.body += body
            return
        # Refused at once: a chunked body has no length to check up front, and the client may stop
        # sending just past the limit to read the answer.
        request.too_large = True
        found = self.server.sessions.get(request.arg("sid") or "")
        if found is not None:
            found.close(session.OVERSIZE)
        limit = self.server.config.max_payload
        self.respond(413, _error("payload_too_large", f"request body exceeds {limit} bytes"), close=True)

    def on_message_complete(self) -> None:
        self._disarm_deadline()
        if self.transport.is_closing():
            return
        head_bytes = self._head_bytes
        self._in_head, self._head_bytes, self._raw_head_bytes = True, 0, 0
        if head_bytes > MAX_HEAD_BYTES:
            self._refuse_head()
            return
        if self._parser.should_upgrade():
            return  # answered from the HttpParserUpgrade that follows
        if self._holding is not None:
            self._waiting.append(self._request)
        else:
            self._handle(self._request)

    # -- polling ---------------------------------------------------------------------------

    def _handle(self, request: Request) -> None:
        server = self.server
        if request.path.rstrip("/") != server.config.path:
            self.respond(404, _error("not_found", "no such path on the socket listener"))
            return
        origin = request.headers.get("origin")
        if origin is not None and not server.origin_allowed(origin):
            self.respond(403, _error("origin_not_allowed", f"origin {origin} is not allowed"))
            return
        cors = _cors_headers(origin)
        if request.method == "OPTIONS":
            self.respond(
                204,
                b"",
                [
                    *cors,
                    (b"access-control-allow-methods", CORS_METHODS),
                    (b"access-control-allow-headers", b"content-type"),
                ],
            )
            return
        problem = _check_query(request, "polling")
        if problem is not None:
            self.respond(400, _error("bad_request", problem), cors)
            return
        sid = request.arg("sid")
        if sid is None:
            if request.method != "GET":
                self.respond(400, _error("bad_request", "a session starts with a GET"), cors)
                return
            server.admit(self, request, self._open_polling)
            return
        found = server.sessions.get(sid)
        if found is None or found.websocket is not None:
            self.respond(400, _error("unknown_session", "Invalid session: unknown, closed or upgraded"), cors)
            return
        if request.method == "GET":
            self._holding, self._holding_cors = found, cors  # until the session answers
            if found.poll(self) is not None:
                self._holding = None
                self.respond(400, _error("bad_request", "overlapping polls closed the session"), cors)
        elif request.method == "POST":
            problem = found.receive_payload(bytes(request.body))
            if problem is not None:
                self.respond(400, _error("bad_request", problem), cors)
                return
            self.respond(200, b"ok", cors, content_type=b"text/html")
        else:
            self.respond(
                400, _error("bad_request", f"method {request.method} is not used by Engine.IO"), cors
            )

    def _open_polling(self, request: Request) -> None:
        if self.transport.is_closing():
            return
        opened = self.server.open_session(request, self, upgrades=["websocket"])
        body = eio.handshake(opened.sid, upgrades=["websocket"], **self.server.handshake_settings())
        self.respond(200, body.encode(), _cors_headers(request.headers.get("origin")))

    def respond_poll(self, body: bytes) -> None:
        """Called by the session: the held GET's answer; then serve what queued behind it."""
        self._holding = None
        if self.transport.is_closing():
            return
        self.respond(200, body, self._holding_cors)
        waiting, self._waiting = self._waiting, []
        for request in waiting:
            if self._holding is not None:
                self._waiting.append(request)
            else:
                self._handle(request)

    def respond(
        self,
        status: int,
        body: bytes,
        headers: list | None = None,
        *,
        close: bool = False,
        content_type: bytes | None = None,
    ) -> None:
        if content_type is None:
            content_type = (
                b"application/json"
                if body.startswith(b"{") and status >= 400
                else b"text/plain; charset=UTF-8"
            )
        head = [
            f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n".encode(),
            b"content-type: " + content_type + b"\r\n",
            f"content-length: {len(body)}\r\n".encode(),
            b"cache-control: no-store\r\n",
            # Every answer carries a request id, as the REST edge's do (DESIGN §4 hardening).
            b"x-request-id: " + uuid.uuid4().hex.encode() + b"\r\n",
        ]
        head += [name + b": " + value + b"\r\n" for name, value in headers or ()]
        if close:
            head.append(b"connection: close\r\n")
        self.transport.write(b"".join(head) + b"\r\n" + body)
        if close:
            self.transport.close()
        elif self._holding is None:
            self._arm_deadline()  # idle until the next request: it must come within the limit

    def _arm_deadline(self) -> None:
        self._disarm_deadline()
        self._deadline = asyncio.get_running_loop().call_later(
            self.server.config.request_timeout, self._timed_out
        )

    def _disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self._frames is None and self._holding is None and not self.transport.is_closing():
            if self._head_bytes or self._raw_head_bytes:
                self.respond(408, _error("request_timeout", "request not received in time"), close=True)
            else:
                self.transport.close()  # an idle keep-alive connection

    # -- websocket -------------------------------------------------------------------------

    def _upgrade(self, rest: bytes) -> None:
        if self.transport.is_closing():
            return  # refused already (an oversize head)
        request = self._request
        headers = request.headers
        server = self.server
        problem = None
        if request.path.rstrip("/") != server.config.path:
            problem = "no such path on the socket listener"
        elif headers.get("upgrade", "").lower() != "websocket" or "sec-websocket-key" not in headers:
            problem = "only websocket upgrades are served"
        elif headers.get("sec-websocket-version") != "13":
            problem = "websocket version 13 only"
        else:
            problem = _check_query(request, "websocket")
        origin = headers.get("origin")
        if problem is None and origin is not None and not server.origin_allowed(origin):
            self.respond(403, _error("origin_not_allowed", f"origin {origin} is not allowed"), close=True)
            return
        sid = request.arg("sid")
        found = server.sessions.get(sid) if sid is not None else None
        if (
            problem is None
            and sid is not None
            and (found is None or found.websocket is not None or found.probe is not None)
        ):
            problem = "session id unknown, upgraded or already probing"
        if problem is not None:
            self.respond(400, _error("bad_request", problem), close=True)
            return
        if found is None:
            server.admit(self, request, lambda admitted: self._open_websocket(admitted, rest))
            return
        self._accept(rest)
        self._session, self._probing = found, True
        found.probe = self

    def _accept(self, rest: bytes) -> None:
        self.transport.write(websocket.handshake_response(self._request.headers["sec-websocket-key"]))
        self._frames = websocket.FrameReader(self.server.config.max_payload)
        if rest:
            self._websocket_data(rest)

    def _open_websocket(self, request: Request, rest: bytes) -> None:
        if self.transport.is_closing():
            return
        self.transport.write(websocket.handshake_response(request.headers["sec-websocket-key"]))
        self._frames = websocket.FrameReader(self.server.config.max_payload)
        opened = self.server.open_session(request, self, upgrades=[])
        self._session = opened
        opened.websocket = self
        opened.send_packet(
            eio.OPEN, eio.handshake(opened.sid, upgrades=[], **self.server.handshake_settings())[1:]
        )
        if rest:
            self._websocket_data(rest)

    def _websocket_data(self, data: bytes) -> None:
        reader = self._frames
        reader.feed(data)
        try:
            for opcode, payload in reader.messages():
                if self._closing:
                    return
                self._websocket_message(opcode, payload)
        except websocket.FrameError as error:
            current = self._session
            if current is not None and current.websocket is self:
                current.close(session.OVERSIZE if error.code == websocket.TOO_BIG else session.PARSE_ERROR)
            self.close_websocket(error.code, reason=error.reason)

    def _websocket_message(self, opcode: int, payload: bytes) -> None:
        current = self._session
        if opcode == websocket.PING:
            self.transport.write(websocket.encode_frame(websocket.PONG, payload))
            return
        if opcode == websocket.PONG:
            return
        if opcode == websocket.CLOSE:
            if current is not None and current.websocket is self:
                current.close(session.TRANSPORT_CLOSE, notify_client=False)
            self.close_websocket(websocket.NORMAL)
            return
        if current is None or current.closed:
            self.close_websocket(websocket.NORMAL)
            return
        if opcode == websocket.BINARY:
            kind, data = eio.MESSAGE, payload
        else:
            try:
                kind, data = eio.decode_text(payload.decode("utf-8"))
            except (UnicodeDecodeError, eio.PacketError):
                if current.websocket is self:
                    current.close(session.PARSE_ERROR)
                self.close_websocket(websocket.INVALID_DATA, reason="not an Engine.IO packet")
                return
        if self._probing:
            self._probe_packet(current, kind, data)
        else:
            current.receive(kind, data)

    def _probe_packet(self, current: session.EngineSession, kind: str, data: str | bytes) -> None:
        if kind == eio.PING and data == eio.PROBE:
            current.probe_received(self)
        elif kind == eio.UPGRADE and current.upgrading:
            self._probing = False
            current.upgrade(self)
        else:
            current.probe, current.upgrading = None, False
            self.close_websocket(websocket.POLICY, reason="unexpected packet during the upgrade")

    def close_websocket(self, code: int, *, pending: bytes = b"", reason: str = "") -> None:
        if self._closing or self.transport is None:
            return
        self._closing = True
        self.transport.write(pending + websocket.close_frame(code, reason))
        self.transport.close()


def _check_query(request: Request, transport: str) -> str | None:
    if request.arg("EIO") != "4":
        return "EIO=4 is the only protocol version served"
    if request.arg("transport") != transport:
        return f"transport must be {transport} on this request"
    return None


def _cors_headers(origin: str | None) -> list[tuple[bytes, bytes]]:
    if origin is None:
        return []
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin"),
    ]


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()
