"""The Socket.IO server: namespaces, connect/event handlers, acks, rooms, encode-once broadcast.

Handlers are coroutines: `connect(sid, environ, auth)` may raise `ConnectionRefused`;
`connected(sid)` runs after the client got its CONNECT answer; `disconnect(sid, reason)`; and
`<event>(sid, *args)`, whose return value answers the client's ack (a tuple answers with several
arguments). A broadcast is encoded once, as Engine.IO text and as a websocket frame, and the same
objects are queued on every member; a `Fanout` carries it to the other replicas.
"""

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from relay.realtime.wire import eio, sio, websocket
from relay.realtime.wire.http import Request, WireConnection
from relay.realtime.wire.rooms import Rooms
from relay.realtime.wire.session import (
    CLIENT_CLOSE,
    CONNECT_TIMEOUT,
    PARSE_ERROR,
    SERVER_DISCONNECT,
    EngineSession,
)

log = logging.getLogger(__name__)
Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class WireConfig:
    path: str = "/api/socketio"
    ping_interval: float = 25  # DESIGN §4 socket timing
    ping_timeout: float = 60
    max_payload: int = 65_536  # DESIGN §4: 64 KiB per message, polling body or websocket message
    max_buffer: int = 1_048_576  # unsent bytes per connection before it counts as a slow consumer
    # The kernel's send buffer per connection (SO_SNDBUF). Left to autotuning it grows to megabytes,
    # and a stalled reader's backlog would sit there unseen instead of reaching max_buffer.
    send_buffer: int = 262_144
    connect_timeout: float = 45  # sessions that never complete a Socket.IO CONNECT
    request_timeout: float = 10  # an HTTP request's head and body, as haproxy and relay.http_protocol
    allowed_origins: frozenset[str] | None = frozenset()  # None: any origin (conformance mode only)
    namespaces: frozenset[str] = frozenset({sio.DEFAULT_NAMESPACE})


class ConnectionRefused(Exception):
    """Raised by a connect handler: the client gets CONNECT_ERROR with this message (and data)."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message, self.data = message, data


class Admission(Protocol):
    async def __call__(self, environ: dict[str, str]) -> float | None:
        """None to admit a new session, or the seconds after which the client may retry."""


class Fanout(Protocol):
    async def publish(
        self, namespace: str, rooms: list[str], skip: list[str], packets: list[str | bytes]
    ) -> None: ...


@dataclass
class Socket:
    sid: str
    namespace: str
    session: EngineSession
    # While the connect handler runs, a close is only noted here: the disconnect handler runs once
    # the connect handler is done, so it always sees what the connect handler registered.
    connecting: bool = True
    closed_reason: str | None = None


class Outgoing:
    """One Socket.IO packet, encoded once for both transports."""

    __slots__ = ("parts",)

    def __init__(self, packets: list[str | bytes]) -> None:
        self.parts = [
            (eio.MESSAGE + part, websocket.text_frame(eio.MESSAGE + part))
            if isinstance(part, str)
            else (part, websocket.encode_frame(websocket.BINARY, part))
            for part in packets
        ]

    def send(self, session: EngineSession) -> None:
        for packet, frame in self.parts:
            session.send_message_frames(packet, frame)


class WireServer:
    def __init__(self, config: WireConfig, *, admission: Admission | None = None) -> None:
        self.config = config
        self.admission = admission
        self.fanout: Fanout | None = None
        self.sessions: dict[str, EngineSession] = {}
        self.sockets: dict[str, Socket] = {}  # Socket.IO sid -> socket
        self.rooms = {namespace: Rooms() for namespace in config.namespaces}
        self._handlers: dict[str, dict[str, Handler]] = {namespace: {} for namespace in config.namespaces}
        self._by_session: dict[str, dict[str, Socket]] = {}  # engine sid -> namespace -> socket
        self._partial: dict[str, sio.SocketPacket] = {}  # engine sid -> binary packet awaiting attachments
        self._tasks: set[asyncio.Task] = set()
        self._servers: list[asyncio.base_events.Server] = []

    # -- set-up ----------------------------------------------------------------------------

    def on(self, event: str, handler: Handler, namespace: str = sio.DEFAULT_NAMESPACE) -> None:
        self._handlers[namespace][event] = handler

    def origin_allowed(self, origin: str) -> bool:
        allowed = self.config.allowed_origins
        return allowed is None or origin in allowed

    def handshake_settings(self) -> dict[str, Any]:
        config = self.config
        return {
            "ping_interval": config.ping_interval,
            "ping_timeout": config.ping_timeout,
            "max_payload": config.max_payload,
        }

    async def listen(self, host: str, port: int) -> asyncio.base_events.Server:
        listener = await asyncio.get_running_loop().create_server(
            lambda: WireConnection(self), host, port, reuse_address=True, backlog=1024
        )
        self._servers.append(listener)
        return listener

    async def close(self, *, grace: float = 5) -> None:
        """Stop listening and close every session; handlers already running (the disconnect
        handlers the closes start, an event being stored) get `grace` seconds to finish."""
        for listener in self._servers:
            listener.close()
        for session in list(self.sessions.values()):
            session.close(SERVER_DISCONNECT)
        for listener in self._servers:
            await listener.wait_closed()
        self._servers.clear()
        if self._tasks:
            _done, late = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in late:
                task.cancel()

    # -- Engine.IO sessions ----------------------------------------------------------------

    def admit(self, connection: WireConnection, request: Request, proceed: Callable[[Request], None]) -> None:
        if self.admission is None:
            proceed(request)
            return
        self._spawn(self._admit(connection, request, proceed))

    async def _admit(
        self, connection: WireConnection, request: Request, proceed: Callable[[Request], None]
    ) -> None:
        retry_after = await self.admission(environ_of(request, connection.peer))
        if retry_after is None:
            proceed(request)
            return
        body = json.dumps(
            {"error": {"code": "rate_limited", "message": "too many socket handshakes from this address"}}
        )
        connection.respond(
            429, body.encode(), [(b"retry-after", str(max(1, round(retry_after))).encode())], close=True
        )

    def open_session(
        self, request: Request, connection: WireConnection, *, upgrades: list[str]
    ) -> EngineSession:
        config = self.config
        session = EngineSession(
            secrets.token_urlsafe(15),
            ping_interval=config.ping_interval,
            ping_timeout=config.ping_timeout,
            max_buffer=config.max_buffer,
            on_message=self.on_engine_message,
            on_close=self.session_closed,
        )
        session.environ = environ_of(request, connection.peer)
        session.deadlines.append(
            session.loop.call_later(config.connect_timeout, self._connect_deadline, session)
        )
        self.sessions[session.sid] = session
        self._by_session[session.sid] = {}
        return session

    def _connect_deadline(self, session: EngineSession) -> None:
        if not self._by_session.get(session.sid):
            session.close(CONNECT_TIMEOUT)

    def session_closed(self, session: EngineSession, reason: str) -> None:
        """An Engine.IO session ended: its sockets disconnect with the session's reason."""
        self.sessions.pop(session.sid, None)
        self._partial.pop(session.sid, None)
        for socket in list(self._by_session.pop(session.sid, {}).values()):
            self._forget(socket, reason)

    # -- Socket.IO packets -----------------------------------------------------------------

    def on_engine_message(self, session: EngineSession, data: str | bytes) -> None:
        """One Engine.IO MESSAGE: a Socket.IO packet, or one attachment of a binary packet."""
        try:
            if isinstance(data, bytes):
                packet = self._partial.get(session.sid)
                if packet is None:
                    raise sio.SocketPacketError("binary message without a packet expecting it")
                packet.buffers.append(data)
                if not packet.complete:
                    return
                del self._partial[session.sid]
                sio.reconstruct(packet)
            else:
                if session.sid in self._partial:
                    raise sio.SocketPacketError("text packet while attachments were expected")
                packet = sio.decode(data)
                if packet.attachments:
                    self._partial[session.sid] = packet
                    return
        except sio.SocketPacketError as error:
            log.warning("closing a session that sent a malformed Socket.IO packet: %s", error)
            session.close(PARSE_ERROR)
            return
        self._dispatch(session, packet)

    def _dispatch(self, session: EngineSession, packet: sio.SocketPacket) -> None:
        namespace, kind = packet.namespace, packet.kind
        connected = self._by_session.get(session.sid, {})
        if kind == sio.CONNECT:
            if namespace not in self._handlers:
                Outgoing(
                    sio.encode(sio.CONNECT_ERROR, {"message": "Invalid namespace"}, namespace=namespace)
                ).send(session)
            elif namespace not in connected:
                self._spawn(self._connect(session, namespace, packet.data))
            return
        socket = connected.get(namespace)
        if socket is None:
            return  # events for a namespace this session has not joined are dropped
        if kind == sio.DISCONNECT:
            self._forget(socket, CLIENT_CLOSE)
            if not self._by_session.get(session.sid):
                session.close(CLIENT_CLOSE, notify_client=False)
        elif kind in (sio.EVENT, sio.BINARY_EVENT):
            handler = self._handlers[namespace].get(packet.data[0])
            if handler is not None:
                self._spawn(self._event(socket, handler, packet))

    async def _connect(self, session: EngineSession, namespace: str, auth: Any) -> None:
        socket = Socket(secrets.token_urlsafe(15), namespace, session)
        handlers = self._handlers[namespace]
        self.sockets[socket.sid] = socket
        self._by_session[session.sid][namespace] = socket
        self.rooms[namespace].enter(socket.sid, socket.sid)
        connect = handlers.get("connect")
        try:
            if connect is not None:
                await connect(socket.sid, session.environ, auth)
        except ConnectionRefused as refusal:
            self._drop(socket)
            error = {"message": refusal.message}
            if refusal.data is not None:
                error["data"] = refusal.data
            Outgoing(sio.encode(sio.CONNECT_ERROR, error, namespace=namespace)).send(session)
            return
        except BaseException:
            self._drop(socket)
            raise
        finally:
            socket.connecting = False
        if session.closed or self.sockets.get(socket.sid) is not socket:
            # The client left while the handler ran: what the handler registered must be undone now.
            self._drop(socket)
            self._on_disconnect(socket, socket.closed_reason or SERVER_DISCONNECT)
            return
        Outgoing(sio.encode(sio.CONNECT, {"sid": socket.sid}, namespace=namespace)).send(session)
        connected = handlers.get("connected")
        if connected is not None:
            await connected(socket.sid)

    async def _event(self, socket: Socket, handler: Handler, packet: sio.SocketPacket) -> None:
        result = await handler(socket.sid, *packet.data[1:])
        if packet.ack_id is None or socket.session.closed:
            return
        args = list(result) if isinstance(result, tuple) else [] if result is None else [result]
        Outgoing(sio.encode(sio.ACK, args, namespace=socket.namespace, ack_id=packet.ack_id)).send(
            socket.session
        )

    def _drop(self, socket: Socket) -> None:
        """Forget a socket without running its disconnect handler (it never connected)."""
        self.sockets.pop(socket.sid, None)
        self._by_session.get(socket.session.sid, {}).pop(socket.namespace, None)
        self.rooms[socket.namespace].leave_all(socket.sid)

    def _forget(self, socket: Socket, reason: str) -> None:
        if self.sockets.get(socket.sid) is not socket:
            return
        self._drop(socket)
        if socket.connecting:
            socket.closed_reason = reason  # _connect runs the disconnect handler when connect is done
            return
        self._on_disconnect(socket, reason)

    def _on_disconnect(self, socket: Socket, reason: str) -> None:
        handler = self._handlers[socket.namespace].get("disconnect")
        if handler is not None:
            self._spawn(handler(socket.sid, reason))

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("socket handler failed", exc_info=task.exception())

    # -- what handlers and the application call --------------------------------------------

    def enter_room(self, sid: str, room: str) -> None:
        socket = self.sockets.get(sid)
        if socket is not None:
            self.rooms[socket.namespace].enter(sid, room)

    def leave_room(self, sid: str, room: str) -> None:
        socket = self.sockets.get(sid)
        if socket is not None:
            self.rooms[socket.namespace].leave(sid, room)

    def rooms_of(self, sid: str) -> set[str]:
        socket = self.sockets.get(sid)
        return self.rooms[socket.namespace].of(sid) if socket is not None else set()

    async def emit(
        self,
        event: str,
        data: Any = None,
        *,
        to: str | list[str] | None = None,
        skip_sid: str | list[str] | None = None,
        namespace: str = sio.DEFAULT_NAMESPACE,
    ) -> int:
        """Send to a sid, a room or rooms (everyone when none), on every replica; returns local deliveries."""
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        packets = sio.encode(sio.EVENT, [event, *args], namespace=namespace)
        rooms = [to] if isinstance(to, str) else list(to or [])
        skip = [skip_sid] if isinstance(skip_sid, str) else list(skip_sid or [])
        delivered = self.deliver(namespace, rooms, skip, packets)
        if self.fanout is not None and not (len(rooms) == 1 and rooms[0] in self.sockets):
            await self.fanout.publish(namespace, rooms, skip, packets)
        return delivered

    def deliver(self, namespace: str, rooms: list[str], skip: list[str], packets: list[str | bytes]) -> int:
        """Queue encoded packets on this replica's members of `rooms` (everyone when empty)."""
        outgoing = Outgoing(packets)
        members = (
            self.rooms[namespace].members(rooms)
            if rooms
            else [sid for sid, socket in self.sockets.items() if socket.namespace == namespace]
        )
        delivered = 0
        sockets = self.sockets
        for sid in list(members):
            if sid in skip:
                continue
            socket = sockets.get(sid)
            if socket is None or socket.session.closed:
                continue
            outgoing.send(socket.session)
            delivered += 1
        return delivered

    async def disconnect(self, sid: str) -> None:
        socket = self.sockets.get(sid)
        if socket is None:
            return
        Outgoing(sio.encode(sio.DISCONNECT, namespace=socket.namespace)).send(socket.session)
        self._forget(socket, SERVER_DISCONNECT)
        if not self._by_session.get(socket.session.sid):
            socket.session.close(SERVER_DISCONNECT)


def environ_of(request: Request, peer: str) -> dict[str, str]:
    """WSGI-style names for the handshake's headers (what connect handlers read), and the peer."""
    environ = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in request.headers.items()}
    environ["REMOTE_ADDR"] = peer
    environ["QUERY_STRING"] = "&".join(f"{key}={values[0]}" for key, values in request.query.items())
    return environ
