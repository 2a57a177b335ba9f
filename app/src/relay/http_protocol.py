"""uvicorn's httptools protocol with the request limits it lacks: header size and read time.

A replica's port is reachable inside the cluster without the load balancer in front, and uvicorn's
httptools mode has no setting for either limit: a 2 MB header was accepted, and headers trickled a
byte at a time held a connection for as long as the client liked (issue 7, finding 12). The limits
are settings whose defaults match haproxy's: the request line and headers within 16 KiB (else 431;
RELAY_HTTP_MAX_HEAD_BYTES), read within 10 s of the connection opening or the previous request
ending (else 408; RELAY_HTTP_HEAD_TIMEOUT_SECONDS), and a body within 10 s of its headers
(RELAY_HTTP_BODY_TIMEOUT_SECONDS).
"""

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class HeadersTooLarge(Exception):
    """Raised from a parser callback to stop parsing; the protocol answers 431."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """Pass `uvicorn.Config(http=LimitedHttpToolsProtocol.with_limits(...))`: uvicorn builds the
    protocol itself, so the limits travel as class attributes of a subclass.

    The size is counted twice, because httptools hands over a header only once it is complete (it
    buffers a 2 MB value whole): from the parser's callbacks, and as the raw bytes of reads that end
    inside the head. Either count over the limit refuses; each is at most the head's true size.
    """

    # The settings' defaults (relay.settings); `with_limits` sets the configured ones.
    max_head_bytes = 16 * 1024
    head_timeout_seconds = 10.0
    body_timeout_seconds = 10.0

    @classmethod
    def with_limits(
        cls, *, max_head_bytes: int, head_timeout_seconds: float, body_timeout_seconds: float
    ) -> type["LimitedHttpToolsProtocol"]:
        limits = {
            "max_head_bytes": max_head_bytes,
            "head_timeout_seconds": head_timeout_seconds,
            "body_timeout_seconds": body_timeout_seconds,
        }
        return type(cls.__name__, (cls,), limits)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._in_head = False
        self._head_raw_bytes = 0
        self._head_parsed_bytes = 0
        self._refusal: tuple[int, str] | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._arm(self.head_timeout_seconds, self.headers_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():  # this read ended inside a head
            self._head_raw_bytes += len(data)
            if self._head_raw_bytes > self.max_head_bytes:
                self._answer(431, f"request line and headers exceed {self.max_head_bytes} bytes")

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to any parser error, ours included: answer ours instead."""
        if self._refusal is None:
            super().send_400_response(msg)
        else:
            self._answer(*self._refusal)

    def _arm(self, seconds: float, callback) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def headers_timed_out(self) -> None:
        """408 and close; also the native server's main port, once it has waited as long for a first
        line to sniff (relay.realtime.native.SocketSniffingProtocol)."""
        self._answer(408, f"request headers not received within {self.head_timeout_seconds:g} s")

    def _body_timed_out(self) -> None:
        if self.cycle.response_started:
            self.transport.close()  # answered already; only the unread rest of the body is left
            return
        self.cycle.disconnected = True  # the app now sees http.disconnect, and its answer is dropped
        self._answer(408, f"request body not received within {self.body_timeout_seconds:g} s")

    def _answer(self, status: int, reason: str) -> None:
        """The last answer on this connection: what follows in the stream cannot be parsed."""
        self._disarm()
        body = reason.encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, _REASONS[status], len(body), body)
        )
        self.transport.close()

    def _count(self, size: int) -> None:
        self._head_parsed_bytes += size
        if self._head_parsed_bytes > self.max_head_bytes:
            self._refusal = (431, f"request line and headers exceed {self.max_head_bytes} bytes")
            raise HeadersTooLarge(self._refusal[1])

    # Parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_parsed_bytes = 0
        if self._deadline is None:  # the next request on a keep-alive connection
            self._arm(self.head_timeout_seconds, self.headers_timed_out)

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_raw_bytes = 0
        if self.parser.should_upgrade() and self._should_upgrade():
            self._disarm()  # a websocket: its own protocol takes the connection over
        else:
            self._arm(self.body_timeout_seconds, self._body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()
