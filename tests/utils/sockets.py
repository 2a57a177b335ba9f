"""A python-socketio test client that records every server event in order, per event name."""

import asyncio
import ssl
from collections import defaultdict
from typing import Any

import aiohttp
import socketio

SOCKETIO_PATH = "/api/socketio"


class SocketUser:
    """`ssl_context` and `local_address` (a 127.0.0.0/8 source, so a client IP of its own) are for
    sockets through the load balancer."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        transports: list[str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        local_address: str | None = None,
    ) -> None:
        self.url, self.token, self.transports = url, token, transports or ["websocket"]
        self._aiohttp: aiohttp.ClientSession | None = None
        if ssl_context is not None or local_address is not None:
            local_addr = (local_address, 0) if local_address else None
            connector = aiohttp.TCPConnector(ssl=ssl_context or True, local_addr=local_addr)
            self._aiohttp = aiohttp.ClientSession(connector=connector)
        self.client = socketio.AsyncClient(reconnection=False, http_session=self._aiohttp)
        self.events: defaultdict[str, list[Any]] = defaultdict(list)
        self.refusal: Any = None
        self._arrived = asyncio.Event()
        self.client.on("*", self._record)
        self.client.on("connect_error", self._refused)

    async def _record(self, event: str, *args: Any) -> None:
        """One entry per argument: `presence` carries one change per argument (DESIGN §4a)."""
        self.events[event].extend(args or [None])
        self._arrived.set()

    async def _refused(self, data: Any) -> None:
        self.refusal = data

    async def connect(self) -> "SocketUser":
        await self.client.connect(
            self.url,
            socketio_path=SOCKETIO_PATH,
            auth={"token": self.token},
            transports=self.transports,
            wait_timeout=10,
        )
        return self

    async def call(self, event: str, data: Any, within: float = 10) -> Any:
        return await self.client.call(event, data, timeout=within)

    async def wait_for(self, event: str, predicate=lambda _data: True, within: float = 10) -> Any:
        """The first recorded `event` payload matching `predicate`, waiting up to `within` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            for data in self.events[event]:
                if predicate(data):
                    return data
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no {event!r} event matched within {within} s; got {dict(self.events)}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                continue

    async def close(self) -> None:
        if self.client.connected and self.client.transport() == "polling":
            # python-engineio's client waits for its pending long-poll GET, which the server answers
            # only at the next ping (25 s); browsers abort that request instead, and so do we.
            await self.client.eio.disconnect(abort=True)
        else:
            await self.client.disconnect()
        if self._aiohttp is not None:
            await self._aiohttp.close()
