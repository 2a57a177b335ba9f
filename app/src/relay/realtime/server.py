"""The Socket.IO server: one per process (python-socketio's or the native one), fanned out across
replicas through Redis."""

import socketio
from starlette.types import ASGIApp

from relay.realtime.engine import RelaySocketServer
from relay.realtime.events import register_events
from relay.realtime.fanout import RelayClientManager
from relay.realtime.hub import Hub
from relay.realtime.native import NativeSocketServer
from relay.realtime.presence import PresenceTracker
from relay.realtime.rooms import RoomSync
from relay.realtime.transport_guard import TransportGuard
from relay.runtime import Runtime

SOCKETIO_PATH = "api/socketio"


def create_socket_server(runtime: Runtime) -> tuple[socketio.AsyncServer | NativeSocketServer, Hub]:
    """The server RELAY_SOCKET_SERVER names, with the same handlers and hub on either."""
    settings = runtime.settings
    sio: socketio.AsyncServer | NativeSocketServer
    if settings.socket_server == "native":
        sio = NativeSocketServer(runtime)
    else:
        sio = _python_socketio_server(runtime)
    hub = Hub(
        sio,
        RoomSync(sio, runtime.redis),
        PresenceTracker(runtime.redis, settings.replica_id, ttl=settings.presence_ttl_seconds),
        runtime.sessions,
    )
    register_events(sio, runtime, hub)
    return sio, hub


def _python_socketio_server(runtime: Runtime) -> socketio.AsyncServer:
    settings = runtime.settings
    return RelaySocketServer(
        async_mode="asgi",
        client_manager=RelayClientManager(settings.redis_url, channel="relay:socketio"),
        cors_allowed_origins=settings.allowed_origins,
        transports=["websocket", "polling"],
        # DESIGN §4 socket timing: ping every 25 s, give up after 60 s (the ALB idle timeout is 120 s).
        ping_interval=25,
        ping_timeout=60,
        # A message is at most RELAY_MAX_MESSAGE_CHARS characters (up to 4 bytes each) plus envelope.
        max_http_buffer_size=settings.max_body_bytes,
        connect_timeout=settings.socket_connect_timeout_seconds,
    )


def create_socket_app(
    sio: socketio.AsyncServer | NativeSocketServer, api: ASGIApp, runtime: Runtime
) -> ASGIApp:
    """Socket.IO at /api/socketio, FastAPI for everything else, behind the transport guard.

    The native server is no ASGI app: its connections never reach the ASGI stack (native.py).
    """
    if isinstance(sio, NativeSocketServer):
        return api
    app = socketio.ASGIApp(sio, other_asgi_app=api, socketio_path=SOCKETIO_PATH)
    return TransportGuard(
        app,
        engine=sio.eio,
        limiter=runtime.rate_limiter,
        socketio_path=f"/{SOCKETIO_PATH}",
        max_bytes=runtime.settings.max_body_bytes,
    )
