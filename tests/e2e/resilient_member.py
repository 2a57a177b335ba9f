"""A channel member that behaves as DESIGN.md §4 asks of clients: it keeps a timeline keyed by the
per-channel sequence, catches up with `?after=<last seq>` whenever it (re)connects, and retries an
unacknowledged send with the same `client_msg_id` until the server acknowledges it.
"""

import asyncio
import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import socketio

from topology.chat import SOCKETIO_PATH, disconnect


@dataclass
class Send:
    client_msg_id: str
    body: str
    attempts: int = 0
    ack: dict[str, Any] | None = None


@dataclass
class ResilientMember:
    base_url: str
    token: str
    ssl_context: ssl.SSLContext
    channel_id: str
    transport: str
    timeline: dict[int, dict[str, Any]] = field(default_factory=dict)
    sends: list[Send] = field(default_factory=list)
    reconnects: int = 0

    def __post_init__(self) -> None:
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.ssl_context))
        # Reconnects go back through the load balancer, which picks a live replica.
        self.sio = socketio.AsyncClient(
            http_session=self.http, reconnection_delay=0.2, reconnection_delay_max=1, randomization_factor=0
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("message:new", self._on_message)
        self._catching_up: asyncio.Task | None = None

    def rest(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            verify=self.ssl_context,
            timeout=10,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    async def connect(self) -> None:
        await self.sio.connect(
            self.base_url,
            auth={"token": self.token},
            transports=[self.transport],
            socketio_path=SOCKETIO_PATH,
            wait_timeout=10,
        )

    async def _on_connect(self) -> None:
        if self.timeline or self.sends:
            self.reconnects += 1
        self._catching_up = asyncio.create_task(self.catch_up())

    async def _on_message(self, message: dict[str, Any]) -> None:
        if message["channel_id"] == self.channel_id:
            self._record(message)

    def _record(self, message: dict[str, Any]) -> None:
        known = self.timeline.setdefault(message["seq"], message)
        assert known["id"] == message["id"], f"two messages share seq {message['seq']}: {known} / {message}"

    @property
    def last_contiguous_seq(self) -> int:
        seq = 0
        while seq + 1 in self.timeline:
            seq += 1
        return seq

    async def history_after(self, after: int) -> list[dict[str, Any]]:
        """Every stored message with seq > after, paged as DESIGN §4a defines `after`."""
        messages: list[dict[str, Any]] = []
        async with self.rest() as client:
            while True:
                response = await client.get(
                    f"/api/channels/{self.channel_id}/messages", params={"after": after, "limit": 200}
                )
                response.raise_for_status()
                page = response.json()["messages"]
                if not page:
                    return messages
                messages += page
                after = page[-1]["seq"]

    async def catch_up(self) -> None:
        """Fetch everything after the last contiguous sequence, as a reconnecting client does."""
        for message in await self.history_after(self.last_contiguous_seq):
            self._record(message)

    async def send(self, body: str, *, max_attempts: int = 40) -> Send:
        """Send until acknowledged, with the same client_msg_id on every attempt."""
        attempt = Send(client_msg_id=str(uuid.uuid4()), body=body)
        self.sends.append(attempt)
        return await self.resend(attempt, max_attempts=max_attempts)

    async def resend(self, attempt: Send, *, max_attempts: int = 40) -> Send:
        payload = {"channel_id": self.channel_id, "body": attempt.body}
        payload["client_msg_id"] = attempt.client_msg_id
        while attempt.attempts < max_attempts:
            attempt.attempts += 1
            if not self.sio.connected:
                await asyncio.sleep(0.2)
                continue
            try:
                ack = await self.sio.call("message:send", payload, timeout=3)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                continue  # the replica died with the send in flight: was it stored? the retry tells
            if ack.get("ok"):
                attempt.ack = ack["message"]
                return attempt
            raise AssertionError(f"message:send refused: {ack.get('error')}")
        raise AssertionError(f"{attempt.client_msg_id} not acknowledged after {max_attempts} attempts")

    async def close(self) -> None:
        if self._catching_up is not None:
            await self._catching_up
        await disconnect(self.sio)
        await self.http.close()
