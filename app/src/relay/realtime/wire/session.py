"""One Engine.IO session: its transport (polling, then maybe websocket), heartbeat, timeouts, output.

Output is coalesced: packets queued during one event-loop pass leave in one write (one websocket
write, or one polling response) at the end of it. The output is bounded: a connection whose unsent
bytes (queued here plus the transport's own buffer) exceed `max_buffer` is a slow consumer; it is
closed with that reason and its client catches up with `?after=` on reconnect, so it never holds
back the room.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from relay.realtime.wire import eio, websocket

if TYPE_CHECKING:
    from relay.realtime.wire.http import WireConnection

log = logging.getLogger(__name__)

# Disconnect reasons, as the Socket.IO reference names them (the `disconnect` handler gets one).
CLIENT_CLOSE = "client namespace disconnect"
TRANSPORT_CLOSE = "transport close"
TRANSPORT_ERROR = "transport error"
PING_TIMEOUT = "ping timeout"
PARSE_ERROR = "parse error"
SERVER_DISCONNECT = "server namespace disconnect"
CONNECT_TIMEOUT = "connect timeout"
SLOW_CONSUMER = "slow consumer"
OVERSIZE = "payload too large"


class EngineSession:
    def __init__(
        self,
        sid: str,
        *,
        ping_interval: float,
        ping_timeout: float,
        max_buffer: int,
        on_message: Callable[["EngineSession", str | bytes], None],
        on_close: Callable[["EngineSession", str], None],
    ) -> None:
        self.sid = sid
        self.ping_interval, self.ping_timeout, self.max_buffer = ping_interval, ping_timeout, max_buffer
        self._on_message, self._on_close = on_message, on_close
        self.loop = asyncio.get_running_loop()
        self.websocket: WireConnection | None = None  # set once the session runs on a websocket
        self.probe: WireConnection | None = None  # a websocket probing an upgrade
        self.upgrading = False
        self.closed = False
        self.environ: dict[str, str] = {}  # request headers and peer of the handshake
        self._poll: WireConnection | None = None  # the GET waiting for packets
        self._queue: list[str | bytes] = []  # polling: Engine.IO packets
        self._frames: list[bytes] = []  # websocket: encoded frames
        self._queued = 0
        self._flush_pending = False
        self._pong_deadline: asyncio.TimerHandle | None = None
        self._ping_timer = self.loop.call_later(ping_interval, self._ping)
        self.deadlines: list[asyncio.TimerHandle] = []  # others' timers, cancelled on close

    # -- output ----------------------------------------------------------------------------

    def send_packet(self, kind: str, data: str = "") -> None:
        text = kind + data
        self.send_message_frames(text, websocket.text_frame(text))

    def send_message_frames(self, packet: str | bytes, frame: bytes) -> None:
        """Queue one Engine.IO packet, given both as polling text (or bytes) and as a websocket frame.

        Broadcasts build both once and hand the same objects to every member (encode once).
        """
        if self.closed:
            return
        if self.websocket is not None:
            self._frames.append(frame)
            self._queued += len(frame)
        else:
            self._queue.append(packet)
            self._queued += len(packet)
        if self._queued > self.max_buffer:
            self.close(SLOW_CONSUMER)
            return
        if not self._flush_pending:
            self._flush_pending = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        if self.closed:
            return
        if self.websocket is not None:
            if self._frames:
                transport = self.websocket.transport
                transport.write(b"".join(self._frames) if len(self._frames) > 1 else self._frames[0])
                self._frames.clear()
                self._queued = 0
                if transport.get_write_buffer_size() > self.max_buffer:
                    self.close(SLOW_CONSUMER)
        elif self._poll is not None and self._queue:
            self._answer_poll()

    def _answer_poll(self) -> None:
        poll, self._poll = self._poll, None
        body = eio.encode_payload(self._queue)
        self._queue.clear()
        self._queued = 0
        poll.respond_poll(body)

    # -- polling ---------------------------------------------------------------------------

    def poll(self, connection: "WireConnection") -> str | None:
        """A GET: answered now if packets wait, else held. Returns an error reason to answer 400."""
        if self._poll is not None:
            self.close(TRANSPORT_ERROR)  # the reference closes a session polled twice at once
            return "overlapping polls"
        self._poll = connection
        if self.upgrading:
            self._queue.insert(0, eio.NOOP)  # let the client finish the upgrade (test suite: "6")
        if self._queue:
            self._answer_poll()
        return None

    def poll_lost(self, connection: "WireConnection") -> None:
        if self._poll is connection:
            self._poll = None
            self.close(TRANSPORT_CLOSE)

    def receive_payload(self, body: bytes) -> str | None:
        """A POST: its packets in order. Returns an error reason (the session is then closed)."""
        try:
            packets = eio.decode_payload(body)
        except eio.PacketError as error:
            self.close(PARSE_ERROR)
            return str(error)
        for kind, data in packets:
            self.receive(kind, data)
        return None

    # -- input (both transports) -----------------------------------------------------------

    def receive(self, kind: str, data: str | bytes) -> None:
        if self.closed:
            return
        if kind == eio.MESSAGE:
            self._on_message(self, data)
        elif kind == eio.PONG:
            self._pong_received()
        elif kind == eio.PING:
            self.send_packet(eio.PONG, data if isinstance(data, str) else "")
        elif kind == eio.CLOSE:
            if self._poll is not None:
                self._queue.append(eio.NOOP)
                self._answer_poll()
            self.close(TRANSPORT_CLOSE, notify_client=False)

    # -- upgrade ---------------------------------------------------------------------------

    def probe_received(self, connection: "WireConnection") -> None:
        """`2probe` on a new websocket: answer it, and release the pending poll with a NOOP."""
        self.upgrading = True
        self.probe = connection
        connection.transport.write(websocket.text_frame(eio.PONG + eio.PROBE))
        if self._poll is not None:
            self._queue.insert(0, eio.NOOP)
            self._answer_poll()

    def upgrade(self, connection: "WireConnection") -> None:
        """`5` on the probing websocket: the session moves there with whatever is queued."""
        self.upgrading, self.probe, self.websocket = False, None, connection
        if self._poll is not None:
            self._queue.append(eio.NOOP)
            self._answer_poll()
        queued, self._queue, self._queued = self._queue, [], 0
        for packet in queued:
            if packet == eio.NOOP:
                continue
            opcode = websocket.BINARY if isinstance(packet, bytes) else websocket.TEXT
            data = packet if isinstance(packet, bytes) else packet.encode("utf-8")
            self.send_message_frames(packet, websocket.encode_frame(opcode, data))

    # -- heartbeat and close ---------------------------------------------------------------

    def _ping(self) -> None:
        self.send_packet(eio.PING)
        self._pong_deadline = self.loop.call_later(self.ping_timeout, self.close, PING_TIMEOUT)

    def _pong_received(self) -> None:
        if self._pong_deadline is not None:
            self._pong_deadline.cancel()
            self._pong_deadline = None
            self._ping_timer = self.loop.call_later(self.ping_interval, self._ping)

    def close(self, reason: str, *, notify_client: bool = True) -> None:
        """End the session once; the client is told (CLOSE packet) unless it asked for the close."""
        if self.closed:
            return
        self.closed = True
        for timer in (self._ping_timer, self._pong_deadline, *self.deadlines):
            if timer is not None:
                timer.cancel()
        if reason in (SLOW_CONSUMER, PING_TIMEOUT):
            log.info("closing a socket session: %s", reason)
        if self.websocket is not None:
            if reason == SLOW_CONSUMER:
                self.websocket.transport.abort()  # its buffer will not drain: do not wait for it
            else:
                code = websocket.TOO_BIG if reason == OVERSIZE else websocket.NORMAL
                self.websocket.close_websocket(code, pending=b"".join(self._frames))
        elif self._poll is not None:
            poll, self._poll = self._poll, None
            poll.respond_poll(eio.encode_payload([*self._queue, eio.CLOSE if notify_client else eio.NOOP]))
        if self.probe is not None:
            self.probe.close_websocket(websocket.NORMAL)
        self._queue.clear()
        self._frames.clear()
        self._on_close(self, reason)
