"""python-socketio / python-engineio servers with two fixes at the library boundary (issue 7).

1. A server-side close of a long-polling session never waits for a poll. engine.io's
   `disconnect(sid)` queues the CLOSE packet and then waits until a GET poll has drained the queue.
   When the close comes from a refused POST (a client NOOP or PING, an oversize body), no poll may
   ever come, so the POST that triggered it was never answered and stayed in flight for good.
2. A session that has not completed a Socket.IO CONNECT within `connect_timeout` seconds is closed
   (the reference server's `connectTimeout`, 45 s): unauthenticated sessions must not pile up.
3. A Socket.IO packet that cannot be parsed, or one only a server sends, closes its session as the
   reference server does, with one log line; python-socketio logged a traceback at ERROR per packet
   and kept the session.
"""

import asyncio
import logging

import engineio
import socketio

NAMESPACE = "/"
# What python-socketio's packet decoding and dispatch raise for a malformed or unexpected packet.
MALFORMED_PACKET_ERRORS = (ValueError, TypeError, IndexError)

log = logging.getLogger(__name__)


class RelayEngineServer(engineio.AsyncServer):
    async def disconnect(self, sid: str | None = None) -> None:
        socket = self.sockets.get(sid) if sid is not None else None
        if socket is None:
            await super().disconnect(sid)  # every session, or one already gone
            return
        if socket.upgraded:
            # The websocket's writer task drains the queue (CLOSE included), then waits for more
            # for up to ping interval + timeout; None ends it, and it closes the websocket itself,
            # so a client that ignores the CLOSE packet does not hold the connection.
            await super().disconnect(sid)
            await socket.queue.put(None)
            return
        # A pending poll (if any) still receives the CLOSE packet; nobody waits for one.
        await socket.close(wait=False, reason=self.reason.SERVER_DISCONNECT)
        self.sockets.pop(sid, None)


class RelaySocketServer(socketio.AsyncServer):
    def __init__(self, *args, connect_timeout: float, **kwargs) -> None:
        self.connect_timeout = connect_timeout
        self._connect_deadlines: dict[str, asyncio.TimerHandle] = {}
        super().__init__(*args, **kwargs)

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return RelayEngineServer

    async def _handle_eio_connect(self, eio_sid: str, environ: dict) -> None:
        loop = asyncio.get_running_loop()
        self._connect_deadlines[eio_sid] = loop.call_later(
            self.connect_timeout, self._connect_deadline_passed, eio_sid
        )
        await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_message(self, eio_sid: str, data: str | bytes) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except MALFORMED_PACKET_ERRORS as error:
            log.warning(
                "closing a session that sent a malformed Socket.IO packet: %s: %.200s",
                type(error).__name__,
                error,
            )
            await self.eio.disconnect(eio_sid)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: str) -> None:
        deadline = self._connect_deadlines.pop(eio_sid, None)
        if deadline is not None:
            deadline.cancel()
        await super()._handle_eio_disconnect(eio_sid, reason)

    def _connect_deadline_passed(self, eio_sid: str) -> None:
        self._connect_deadlines.pop(eio_sid, None)
        connected = self.manager.sid_from_eio_sid(eio_sid, NAMESPACE) is not None
        if not connected and eio_sid in self.eio.sockets:
            self.start_background_task(self.eio.disconnect, eio_sid)
