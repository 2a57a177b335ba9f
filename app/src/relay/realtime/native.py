"""Relay's own Socket.IO server (relay.realtime.wire) behind the part of python-socketio's
AsyncServer API that events.py, hub.py, rooms.py and token_expiry.py use, so they run unchanged
on either server (RELAY_SOCKET_SERVER).

It adds what python-socketio got from the ASGI stack: the per-IP handshake budget (the client IP
from X-Forwarded-For only behind a trusted proxy), the message:new delivery count for /metrics, and
the listener itself: on the main port through `SocketSniffingProtocol`, and on RELAY_SOCKET_PORT
when the load balancer routes the socket path there.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import socketio

from relay.http_protocol import LimitedHttpToolsProtocol
from relay.metrics import record_messages_delivered, record_socket_delivery_failure
from relay.middleware.client_ip import TrustedProxies
from relay.ratelimit import RateLimiter
from relay.realtime.wire.fanout import RedisFanout
from relay.realtime.wire.http import WireConnection
from relay.realtime.wire.server import ConnectionRefused, WireConfig, WireServer
from relay.realtime.wire.session import SLOW_CONSUMER, EngineSession
from relay.realtime.wire.sio import DEFAULT_NAMESPACE
from relay.runtime import Runtime

log = logging.getLogger(__name__)
MESSAGE_NEW_PREFIX = '2["message:new",'  # the encoded EVENT packet of a message:new broadcast


class MeteredWireServer(WireServer):
    """Counts message:new deliveries, local and from other replicas (relay_messages_delivered)."""

    def deliver(self, namespace: str, rooms: list[str], skip: list[str], packets: list[str | bytes]) -> int:
        delivered = super().deliver(namespace, rooms, skip, packets)
        if isinstance(packets[0], str) and packets[0].startswith(MESSAGE_NEW_PREFIX):
            record_messages_delivered(delivered)
        return delivered

    def session_closed(self, session: EngineSession, reason: str) -> None:
        super().session_closed(session, reason)
        if reason == SLOW_CONSUMER:
            record_socket_delivery_failure()  # its client catches up with ?after=N on reconnect


class _Participants:
    """`sio.manager.get_participants` for RoomSync: (sid, engine sid) pairs of a room."""

    def __init__(self, wire: WireServer) -> None:
        self._wire = wire

    def get_participants(self, namespace: str, room: str) -> Iterator[tuple[str, str]]:
        for sid in list(self._wire.rooms[namespace].members([room])):
            socket = self._wire.sockets.get(sid)
            if socket is not None:
                yield sid, socket.session.sid


class NativeSocketServer:
    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        config = WireConfig(
            path="/api/socketio",
            max_payload=settings.max_body_bytes,
            max_buffer=settings.socket_max_buffer_bytes,
            connect_timeout=settings.socket_connect_timeout_seconds,
            allowed_origins=frozenset(settings.allowed_origins),
        )
        self.wire = MeteredWireServer(config, admission=self._admission)
        self.manager = _Participants(self.wire)
        self._runtime = runtime
        self._limiter: RateLimiter = runtime.rate_limiter
        self._proxies = TrustedProxies(settings.trusted_proxies)
        self._fanout = RedisFanout(self.wire, runtime.redis)

    # -- python-socketio's AsyncServer surface ---------------------------------------------

    def event(self, handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        return self.on(handler.__name__)(handler)

    def on(self, event: str) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
        def register(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            self.wire.on(event, _refusals_translated(handler) if event == "connect" else handler)
            return handler

        return register

    async def emit(
        self,
        event: str,
        data: Any = None,
        *,
        to: str | list[str] | None = None,
        room: str | list[str] | None = None,
        skip_sid: str | list[str] | None = None,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        await self.wire.emit(event, data, to=to or room, skip_sid=skip_sid, namespace=namespace)

    async def enter_room(self, sid: str, room: str, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.wire.enter_room(sid, room)

    async def leave_room(self, sid: str, room: str, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.wire.leave_room(sid, room)

    def rooms(self, sid: str, namespace: str = DEFAULT_NAMESPACE) -> list[str]:
        return list(self.wire.rooms_of(sid))

    async def disconnect(self, sid: str, namespace: str = DEFAULT_NAMESPACE) -> None:
        await self.wire.disconnect(sid)

    def start_background_task(self, target: Callable[..., Awaitable[Any]], *args: Any) -> asyncio.Task:
        return asyncio.ensure_future(target(*args))

    # -- serving ---------------------------------------------------------------------------

    async def start(self) -> None:
        """In the app's lifespan: cross-replica fan-out, and the socket path's own listener."""
        self._fanout.start()
        settings = self._runtime.settings
        if settings.socket_port is not None:
            await self.wire.listen(settings.host, settings.socket_port)

    async def close_sockets(self) -> None:
        """At shutdown, with uvicorn's own connections: clients reconnect to another replica."""
        await self.wire.close()

    async def stop(self) -> None:
        await self.wire.close()
        await self._fanout.stop()

    def sniffing_protocol(
        self, http_protocol: type[LimitedHttpToolsProtocol]
    ) -> Callable[..., asyncio.Protocol]:
        """uvicorn's `http=` for the main port: /api/socketio connections go to this server, the
        rest to `http_protocol` (the configured head limits)."""
        wire = self.wire

        def factory(**uvicorn_state: Any) -> asyncio.Protocol:
            return SocketSniffingProtocol(
                wire, lambda: http_protocol(**uvicorn_state), http_protocol.head_timeout_seconds
            )

        return factory

    async def _admission(self, environ: dict[str, str]) -> float | None:
        client_ip = self._proxies.resolve_client_ip(
            environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR")
        )
        if client_ip is None:
            return None
        # Without Redis the limiter answers from this replica's own buckets (relay.ratelimit).
        decision = await self._limiter.hit_handshake(client_ip)
        return None if decision.allowed else decision.retry_after


def _refusals_translated(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """events.py refuses with python-socketio's exception; the wire server answers CONNECT_ERROR."""

    async def connect(sid: str, environ: dict, auth: Any = None) -> Any:
        try:
            return await handler(sid, environ, auth)
        except socketio.exceptions.ConnectionRefusedError as refusal:
            raise ConnectionRefused(refusal.error_args["message"], refusal.error_args.get("data")) from None

    return connect


class SocketSniffingProtocol(asyncio.Protocol):
    """Reads a connection's first request line, then hands the connection over for good: to the
    native server for the socket path, to uvicorn's HTTP protocol for everything else.

    The wait for that line counts toward the HTTP head limit: a connection still without one after
    `head_timeout_seconds` goes to the HTTP protocol to be answered 408 and closed, as on the
    python-socketio server's port (tests/security: a connection that sends nothing)."""

    SOCKET_PREFIXES = tuple(f"{method} /api/socketio".encode() for method in ("GET", "POST", "OPTIONS"))

    def __init__(
        self, wire: WireServer, http: Callable[[], LimitedHttpToolsProtocol], head_timeout_seconds: float
    ) -> None:
        self._wire, self._http = wire, http
        self._head_timeout_seconds = head_timeout_seconds
        self._transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._head = b""

    def connection_made(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._head_timeout_seconds, self._no_first_line)

    def data_received(self, data: bytes) -> None:
        self._head += data
        if b"\r\n" not in self._head and len(self._head) < 64:
            return
        socket_path = self._head.startswith(self.SOCKET_PREFIXES)
        self._hand_over(WireConnection(self._wire) if socket_path else self._http())

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()

    def _no_first_line(self) -> None:
        http = self._http()
        self._hand_over(http)
        http.headers_timed_out()

    def _hand_over(self, protocol: asyncio.Protocol) -> None:
        self._disarm()
        self._transport.set_protocol(protocol)
        protocol.connection_made(self._transport)
        if self._head:
            protocol.data_received(self._head)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
