"""A chat user as a client of the load balancer: REST with httpx, Socket.IO with python-socketio's
asyncio client. Pinning a user to a replica uses the same sticky cookie haproxy inserts, so a test
can put two users on DIFFERENT replicas on purpose instead of hoping round-robin does.
"""

import asyncio
import contextlib
import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import socketio
import yarl

from topology.layout import STICKY_COOKIE

SOCKETIO_PATH = "api/socketio"


@dataclass
class ChatUser:
    base_url: str
    token: str
    ssl_context: ssl.SSLContext
    replica: str | None = None
    transports: tuple[str, ...] = ("websocket",)
    received: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    def __post_init__(self) -> None:
        self.sio: socketio.AsyncClient | None = None

    def _cookies(self) -> dict[str, str]:
        return {STICKY_COOKIE: self.replica} if self.replica else {}

    def rest(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            verify=self.ssl_context,
            timeout=10,
            headers={"Authorization": f"Bearer {self.token}"},
            cookies=self._cookies(),
        )

    async def connect(self) -> None:
        """Socket.IO handshake through haproxy with `auth: {token}`, pinned to `replica` when set."""
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.ssl_context))
        # In the session's cookie jar, not a one-off header: engine.io sends custom headers with the
        # first polling request only, and every later poll must reach the same replica.
        session.cookie_jar.update_cookies(self._cookies(), response_url=yarl.URL(self.base_url))
        self.sio = socketio.AsyncClient(reconnection=False, http_session=session)
        self.sio.on("message:new", self.received.put)
        await self.sio.connect(
            self.base_url,
            auth={"token": self.token},
            transports=list(self.transports),
            socketio_path=SOCKETIO_PATH,
            wait_timeout=10,
        )

    @property
    def transport(self) -> str:
        assert self.sio is not None, "connect() first"
        return self.sio.transport()

    async def send(self, channel_id: str, body: str) -> dict[str, Any]:
        """`message:send` with an ack; returns the stored message (raises with the server's error)."""
        assert self.sio is not None, "connect() first"
        ack = await self.sio.call(
            "message:send",
            {"channel_id": channel_id, "body": body, "client_msg_id": str(uuid.uuid4())},
            timeout=10,
        )
        if not ack.get("ok"):
            raise RuntimeError(f"message:send refused: {ack.get('error')}")
        return ack["message"]

    async def next_message(self, wait_seconds: float = 10) -> dict[str, Any]:
        return await asyncio.wait_for(self.received.get(), wait_seconds)

    async def close(self) -> None:
        if self.sio is not None:
            await disconnect(self.sio)
            if self.sio.eio.http is not None:
                await self.sio.eio.http.close()


async def disconnect(sio: socketio.AsyncClient, wait_seconds: float = 5) -> None:
    """Disconnect without waiting out a parked long-poll. python-engineio's server answers a
    client's CLOSE without waking the pending GET, so the client's disconnect() waits for that GET
    to time out (about 65 s) over the polling transport; the session is already closed by then."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(sio.disconnect(), wait_seconds)


async def create_shared_channel(owner: ChatUser, *others: ChatUser, name: str) -> str:
    """A public channel created by `owner` and joined by `others` (before they connect: rooms are
    joined at connect, DESIGN §4a)."""
    async with owner.rest() as client:
        response = await client.post("/api/channels", json={"name": name})
        response.raise_for_status()
        channel_id = response.json()["id"]
    for other in others:
        async with other.rest() as client:
            (await client.post(f"/api/channels/{channel_id}/join")).raise_for_status()
    return channel_id
