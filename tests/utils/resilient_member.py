"""A channel member that behaves as DESIGN.md §4 asks of clients: it keeps a timeline keyed by the
per-channel sequence, catches up with `?after=<last contiguous seq>` whenever it (re)connects or
sees a hole, and retries an unacknowledged send with the same `client_msg_id`.

An ack counts as lost after ACK_TIMEOUT_SECONDS (DESIGN §4) or as soon as the connection drops:
python-socketio's `call` would otherwise keep waiting out its timeout on a dead connection. Every
attempt is recorded (when, how long, how it ended), so fault tests can state what clients saw.
"""

import asyncio
import contextlib
import ssl
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import socketio

from topology.chat import SOCKETIO_PATH, disconnect

ACK_TIMEOUT_SECONDS = 10.0
RETRY_PAUSE_SECONDS = 0.2
# Refusals a client retries (same client_msg_id) rather than reports: the service asked it to.
RETRYABLE = frozenset({"unavailable", "rate_limited"})


class PatientClient(socketio.AsyncClient):
    """python-socketio's reconnect calls `connect()` with its default `wait_timeout` of 1 s: a
    server slower than that to accept the namespace (a loaded replica taking over the sockets of a
    dead one) fails every attempt, and over long-polling each failed attempt then waits out the
    parked GET (about 65 s) before the next. Reconnects wait as long as a first connect does."""

    async def connect(self, *args: Any, wait_timeout: float = ACK_TIMEOUT_SECONDS, **kwargs: Any) -> None:
        await super().connect(*args, wait_timeout=wait_timeout, **kwargs)


@dataclass
class Attempt:
    started: float
    waited: float
    outcome: str  # "ok", "timeout", "disconnected", "offline" or the refusal's error code


@dataclass
class Send:
    client_msg_id: str
    body: str
    attempts: int = 0
    ack: dict[str, Any] | None = None
    acked_at: float | None = None


@dataclass
class ResilientMember:
    base_url: str
    token: str
    ssl_context: ssl.SSLContext
    channel_id: str
    transport: str
    timeline: dict[int, dict[str, Any]] = field(default_factory=dict)
    sends: list[Send] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    live_at: list[float] = field(default_factory=list)
    reconnects: int = 0

    def __post_init__(self) -> None:
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.ssl_context))
        # Reconnects go back through the load balancer, which picks a live replica.
        self.sio = PatientClient(
            http_session=self.http, reconnection_delay=0.2, reconnection_delay_max=1, randomization_factor=0
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("message:new", self._on_message)
        self._dropped = asyncio.Event()
        self._catching_up: asyncio.Task | None = None
        self._catch_up_again = False

    def rest(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            verify=self.ssl_context,
            timeout=ACK_TIMEOUT_SECONDS,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    async def connect(self) -> None:
        await self.sio.connect(
            self.base_url,
            auth={"token": self.token},
            transports=[self.transport],
            socketio_path=SOCKETIO_PATH,
        )

    async def _on_connect(self) -> None:
        self._dropped.clear()
        if self.timeline or self.sends:
            self.reconnects += 1
        self.request_catch_up()

    async def _on_disconnect(self, *_reason: Any) -> None:
        self._dropped.set()

    async def _on_message(self, message: dict[str, Any]) -> None:
        if message["channel_id"] != self.channel_id:
            return
        self.live_at.append(time.monotonic())
        self._record(message)
        if message["seq"] > self.last_contiguous_seq + 1:
            self.request_catch_up()  # a hole: something was committed while we could not hear it

    def _record(self, message: dict[str, Any]) -> None:
        known = self.timeline.setdefault(message["seq"], message)
        assert known["id"] == message["id"], f"two messages share seq {message['seq']}: {known} / {message}"

    @property
    def last_contiguous_seq(self) -> int:
        seq = 0
        while seq + 1 in self.timeline:
            seq += 1
        return seq

    def request_catch_up(self) -> None:
        """Catch up in the background; a request during a running catch-up runs one more after it."""
        if self._catching_up is not None and not self._catching_up.done():
            self._catch_up_again = True
            return
        self._catching_up = asyncio.create_task(self._catch_up_until_current())

    async def _catch_up_until_current(self) -> None:
        while True:
            self._catch_up_again = False
            with contextlib.suppress(httpx.HTTPError):  # the next (re)connect or hole asks again
                await self.catch_up()
            if not self._catch_up_again:
                return

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

    async def send(self, body: str, *, give_up_after: float = 60) -> Send:
        """Send until acknowledged, with the same client_msg_id on every attempt."""
        attempt = Send(client_msg_id=str(uuid.uuid4()), body=body)
        self.sends.append(attempt)
        return await self.resend(attempt, give_up_after=give_up_after)

    async def resend(self, send: Send, *, give_up_after: float = 60) -> Send:
        payload = {"channel_id": self.channel_id, "body": send.body, "client_msg_id": send.client_msg_id}
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            send.attempts += 1
            started = time.monotonic()
            outcome, ack = await self._call(payload)
            self.attempts.append(Attempt(started, time.monotonic() - started, outcome))
            if outcome == "ok":
                send.ack, send.acked_at = ack["message"], time.monotonic()
                return send
            if outcome not in RETRYABLE and outcome not in ("timeout", "disconnected", "offline"):
                raise AssertionError(f"message:send refused: {ack}")
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
        raise AssertionError(f"{send.client_msg_id} not acknowledged within {give_up_after:.0f} s")

    async def _call(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        """One attempt: the ack, or why there is none (an ack is lost after the timeout or a drop)."""
        if not self.sio.connected:
            return "offline", None
        call = asyncio.ensure_future(self.sio.call("message:send", payload, timeout=ACK_TIMEOUT_SECONDS))
        dropped = asyncio.ensure_future(self._dropped.wait())
        try:
            await asyncio.wait({call, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
        if not call.done():
            call.cancel()
            return "disconnected", None  # the replica went away with the send in flight: the retry tells
        try:
            ack = call.result()
        except socketio.exceptions.TimeoutError:
            return "timeout", None
        except socketio.exceptions.BadNamespaceError:
            return "disconnected", None
        if ack.get("ok"):
            return "ok", ack
        return ack.get("error", {}).get("code", "refused"), ack

    async def close(self) -> None:
        if self._catching_up is not None:
            await self._catching_up
        await disconnect(self.sio)
        await self.http.close()
