"""Graceful shutdown: on SIGTERM /healthz answers 503 "draining" for RELAY_DRAIN_SECONDS, so load
balancers take the replica out of rotation, and only then does uvicorn stop (SERVICE-CONTRACT)."""

import asyncio
import signal
from collections.abc import Awaitable, Callable
from types import FrameType

import uvicorn


class Drain:
    def __init__(self) -> None:
        self.draining = False


class DrainingServer(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        *,
        drain: Drain,
        drain_seconds: float,
        before_shutdown: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(config)
        self._drain, self._drain_seconds = drain, drain_seconds
        self._before_shutdown = before_shutdown
        self._loop: asyncio.AbstractEventLoop | None = None

    async def shutdown(self, sockets=None) -> None:
        # Connections uvicorn does not own (the native socket server's) close when uvicorn starts
        # closing its own, so their clients move to another replica as soon as websockets here do.
        if self._before_shutdown is not None:
            await self._before_shutdown()
        await super().shutdown(sockets)

    async def serve(self, sockets=None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or self._drain.draining or self._loop is None or self._drain_seconds <= 0:
            self._drain.draining = True
            super().handle_exit(sig, frame)
            return
        self._drain.draining = True
        self._loop.call_soon_threadsafe(
            self._loop.call_later, self._drain_seconds, super().handle_exit, sig, frame
        )
