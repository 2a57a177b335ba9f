"""Sockets live no longer than their session token (DESIGN §4a `auth:refresh`, issue 7 finding 5).

The token is checked at connect; Clerk session tokens then expire in about a minute and the browser
refreshes them. Each socket gets a timer at `exp` + the verifier's leeway. `auth:refresh` with a fresh
token for the same `sub` moves the timer; when it fires, the socket is told why (`auth:expired`) and
disconnected, and its disconnect is logged with the reason `token_expired`.
"""

import asyncio
import time

import socketio

from relay.auth.verifier import LEEWAY_SECONDS

REASON = "token_expired"
EXPIRED_EVENT = "auth:expired"


class TokenDeadlines:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._expired: set[str] = set()

    def schedule(self, sid: str, expires_at: float) -> None:
        self.cancel(sid)
        delay = max(0.0, expires_at + LEEWAY_SECONDS - time.time())
        self._timers[sid] = asyncio.get_running_loop().call_later(delay, self._fire, sid)

    def cancel(self, sid: str) -> None:
        timer = self._timers.pop(sid, None)
        if timer is not None:
            timer.cancel()

    def closed(self, sid: str) -> bool:
        """Forget `sid`; True when it was disconnected because its token expired."""
        self.cancel(sid)
        if sid in self._expired:
            self._expired.discard(sid)
            return True
        return False

    def _fire(self, sid: str) -> None:
        self._timers.pop(sid, None)
        self._expired.add(sid)
        self._sio.start_background_task(self._disconnect, sid)

    async def _disconnect(self, sid: str) -> None:
        error = {"code": REASON, "message": "session token expired: reconnect with a fresh token"}
        await self._sio.emit(EXPIRED_EVENT, {"error": error}, to=sid)
        await self._sio.disconnect(sid)
