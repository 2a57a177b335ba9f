"""A TCP fault proxy between the replicas and Postgres (`tc netem` is not available here).

It runs its own event loop in a thread, so a busy test loop does not add latency of its own. By
default it forwards bytes as they come; `degrade()` delays every chunk by `delay` in each direction
and stalls a `stall_ratio` share of chunks for `stall` more, keeping each direction in order (as a
slow TCP path would: a stalled chunk holds back the ones behind it). `refuse()` closes every
connection and refuses new ones, the way an unreachable database looks to a client.
"""

import asyncio
import contextlib
import random
import threading
import time
from dataclasses import dataclass

from topology.processes import free_port

CHUNK = 65536


@dataclass(frozen=True)
class Impairment:
    delay: float = 0.0
    stall: float = 0.0
    stall_ratio: float = 0.0


HEALTHY = Impairment()


class FaultProxy:
    def __init__(self, upstream_port: int, *, seed: int = 12) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.impairment = HEALTHY
        self.refusing = False
        self.forwarded_chunks = 0
        self.stalled_chunks = 0
        self._random = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._connections: set[asyncio.StreamWriter] = set()
        self._relays: set[asyncio.Task] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)

    def start(self) -> "FaultProxy":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=5)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def degrade(self, impairment: Impairment) -> None:
        self.impairment = impairment

    def heal(self) -> None:
        self.impairment, self.refusing = HEALTHY, False

    def refuse(self) -> None:
        """Drop every open connection and refuse new ones until `heal()`."""
        self.refusing = True
        asyncio.run_coroutine_threadsafe(self._drop_all(), self._loop).result(timeout=5)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _shutdown(self) -> None:
        """Close everything and wait for the relaying tasks, so none is left pending when the loop stops."""
        self._server.close()
        await self._drop_all()
        if self._relays:
            _done, late = await asyncio.wait(self._relays, timeout=3)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _drop_all(self) -> None:
        for writer in list(self._connections):
            writer.transport.abort()
        self._connections.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            client_writer.transport.abort()
            return
        relay = asyncio.current_task()
        self._relays.add(relay)
        relay.add_done_callback(self._relays.discard)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._connections |= {client_writer, upstream_writer}
        try:
            await asyncio.gather(
                self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer)
            )
        finally:
            for writer in (client_writer, upstream_writer):
                self._connections.discard(writer)
                writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One direction: read, stamp each chunk with the time it may leave, write in order."""
        due: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                leaves_at, chunk = await due.get()
                if not chunk:
                    return
                if (wait := leaves_at - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()

        delivery = asyncio.create_task(deliver())
        try:
            while chunk := await reader.read(CHUNK):
                self.forwarded_chunks += 1
                leaves_at = time.monotonic() + self.impairment.delay
                if self._random.random() < self.impairment.stall_ratio:
                    self.stalled_chunks += 1
                    leaves_at += self.impairment.stall
                due.put_nowait((leaves_at, chunk))
            due.put_nowait((0.0, b""))
            await delivery
        except (ConnectionError, OSError):
            pass
        finally:
            delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await delivery
            writer.transport.abort()
