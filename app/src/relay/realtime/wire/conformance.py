"""Conformance mode: the settings and handlers the official protocol test suites expect.

The suites of `socketio/engine.io-protocol` and `socketio/socket.io-protocol` expect a ping
interval of 300 ms and a timeout of 200 ms, `maxPayload` 1,000,000, any origin, an echo of every
Engine.IO message (engine suite), and for Socket.IO: a `/custom` namespace, an `auth` event with the
handshake payload on connect, `message` answered by `message-back`, `message-with-ack` acked with
its arguments, binary attachments both ways. Production mode (relay.realtime.wire.server defaults)
serves only `/` with DESIGN §4's timing and limits.
"""

from typing import Any

from relay.realtime.wire import eio, sio, websocket
from relay.realtime.wire.server import WireConfig, WireServer
from relay.realtime.wire.session import EngineSession

CONFORMANCE = WireConfig(
    path="/socket.io",
    ping_interval=0.3,
    ping_timeout=0.2,
    max_payload=1_000_000,
    allowed_origins=None,
    namespaces=frozenset({sio.DEFAULT_NAMESPACE, "/custom"}),
)


class EngineEchoServer(WireServer):
    """The engine suite's server: every Engine.IO message comes straight back."""

    def on_engine_message(self, session: EngineSession, data: str | bytes) -> None:
        if isinstance(data, bytes):
            session.send_message_frames(data, websocket.encode_frame(websocket.BINARY, data))
        else:
            session.send_packet(eio.MESSAGE, data)


def socket_echo_server() -> WireServer:
    server = WireServer(CONFORMANCE)
    for namespace in CONFORMANCE.namespaces:
        _echo_handlers(server, namespace)
    return server


def _echo_handlers(server: WireServer, namespace: str) -> None:
    auths: dict[str, Any] = {}

    async def connect(sid: str, environ: dict, auth: Any = None) -> None:
        auths[sid] = auth if auth is not None else {}

    async def connected(sid: str) -> None:
        await server.emit("auth", auths.pop(sid), to=sid, namespace=namespace)

    async def message(sid: str, *args: Any) -> None:
        await server.emit("message-back", tuple(args), to=sid, namespace=namespace)

    async def message_with_ack(sid: str, *args: Any) -> tuple:
        return tuple(args)

    server.on("connect", connect, namespace)
    server.on("connected", connected, namespace)
    server.on("message", message, namespace)
    server.on("message-with-ack", message_with_ack, namespace)
