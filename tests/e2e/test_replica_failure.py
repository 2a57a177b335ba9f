"""Fault test (issue 2 acceptance): while 20 clients send 1,000 messages through haproxy, one replica
is killed with SIGKILL. Every client reconnects through the load balancer and catches up; afterwards
every member holds every acknowledged message exactly once, in sequence order, and sends retried
after the kill produced no duplicates."""

import asyncio
import itertools
import signal
import ssl
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
import httpx
import socketio

from topology import Topology
from topology.chat import SOCKETIO_PATH

CLIENTS = 20
MESSAGES_PER_CLIENT = 50
SEND_INTERVAL_SECONDS = 0.13  # under the 10 messages/s per user limit (DESIGN §4)
KILL_AFTER_ACKED = 300


class AckCounter:
    """Counts acknowledged sends across members; fires once `threshold` is reached (the moment to kill)."""

    def __init__(self, threshold: int) -> None:
        self.count, self.threshold, self.reached = 0, threshold, asyncio.Event()

    def add(self) -> None:
        self.count += 1
        if self.count >= self.threshold:
            self.reached.set()


class Member:
    """A client as DESIGN §4 Delivery describes it: keeps the last sequence of the channel, catches up
    with `?after=N` on every (re)connect, and retries a send with the same client_msg_id."""

    def __init__(
        self, topology: Topology, token: str, channel_id: str, context: ssl.SSLContext, acks: AckCounter
    ) -> None:
        self.topology, self.token, self.channel_id, self.context = topology, token, channel_id, context
        self.acks = acks
        self.timeline: dict[int, dict[str, Any]] = {}
        self.live = Counter[tuple[int, str]]()  # (connection number, message id): a repeat is a duplicate
        self.connections = 0
        self.acked: list[dict[str, Any]] = []
        self.retried = 0
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=0.2,
            reconnection_delay_max=1,
            http_session=aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)),
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("message:new", self._on_message)

    def rest(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.topology.url,
            verify=self.context,
            timeout=10,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    async def _on_connect(self) -> None:
        self.connections += 1
        await self.catch_up()

    async def _on_message(self, message: dict[str, Any]) -> None:
        if message["channel_id"] == self.channel_id:
            self.live[(self.connections, message["id"])] += 1
            self.timeline.setdefault(message["seq"], message)

    def last_contiguous_seq(self) -> int:
        """Catch up from the first hole, not the newest seq: a message committed on the killed replica
        can miss its broadcast while later ones (sent through the other replica) arrive live."""
        seq = 0
        while seq + 1 in self.timeline:
            seq += 1
        return seq

    async def catch_up(self) -> None:
        after = self.last_contiguous_seq()
        async with self.rest() as client:
            while True:
                response = await client.get(
                    f"/api/channels/{self.channel_id}/messages", params={"after": after, "limit": 200}
                )
                response.raise_for_status()
                page = response.json()["messages"]
                for message in page:
                    self.timeline.setdefault(message["seq"], message)
                if not page:
                    return
                after = page[-1]["seq"]

    async def connect(self) -> None:
        await self.sio.connect(
            self.topology.url,
            auth={"token": self.token},
            transports=["websocket"],
            socketio_path=SOCKETIO_PATH,
            wait_timeout=10,
        )

    async def send_all(self, count: int) -> None:
        for n in range(count):
            client_msg_id, attempts = str(uuid.uuid4()), 0
            while True:
                attempts += 1
                try:
                    ack = await self.sio.call(
                        "message:send",
                        {"channel_id": self.channel_id, "body": f"m{n}", "client_msg_id": client_msg_id},
                        timeout=3,
                    )
                except (TimeoutError, socketio.exceptions.SocketIOError):
                    ack = None  # lost with the replica, or not reconnected yet: retry, same client_msg_id
                if ack and ack.get("ok"):
                    self.acked.append(ack["message"])
                    self.acks.add()
                    self.retried += attempts > 1
                    break
                await asyncio.sleep(0.3)
            await asyncio.sleep(SEND_INTERVAL_SECONDS)

    async def close(self) -> None:
        await self.sio.disconnect()
        await self.sio.eio.http.close()


async def kill_when_reached(topology: Topology, acks: AckCounter) -> int:
    await acks.reached.wait()
    return topology.kill_replica("r1", signal.SIGKILL)


async def test_every_member_has_every_acknowledged_message_exactly_once_after_a_replica_is_killed(
    healthy: Topology, mint: Callable[[str], str]
) -> None:
    context = healthy.ssl_context()
    tokens = [mint(f"fault{n}") for n in range(CLIENTS)]
    async with httpx.AsyncClient(base_url=healthy.url, verify=context, timeout=10) as client:
        created = await client.post(
            "/api/channels",
            json={"name": f"fault-{uuid.uuid4().hex[:8]}"},
            headers={"Authorization": f"Bearer {tokens[0]}"},
        )
        channel_id = created.json()["id"]
        for token in tokens[1:]:
            joined = await client.post(
                f"/api/channels/{channel_id}/join", headers={"Authorization": f"Bearer {token}"}
            )
            assert joined.status_code == 200, joined.text
    acks = AckCounter(KILL_AFTER_ACKED)
    members = [Member(healthy, token, channel_id, context, acks) for token in tokens]
    await asyncio.gather(*(m.connect() for m in members))
    try:
        killed = asyncio.create_task(kill_when_reached(healthy, acks))
        await asyncio.gather(*(m.send_all(MESSAGES_PER_CLIENT) for m in members))
        old_pid = await killed
        await asyncio.to_thread(healthy.replicas.wait_restarted, "r1", old_pid)
        await asyncio.to_thread(healthy.wait_replica_serving, "r1")
        await asyncio.to_thread(healthy.wait_replica_state, "r1", "UP")  # back in rotation
        await asyncio.sleep(1)  # let the last broadcasts land
        await asyncio.gather(*(m.catch_up() for m in members))
    finally:
        await asyncio.gather(*(m.close() for m in members), return_exceptions=True)

    acked = {message["id"]: message for message in itertools.chain.from_iterable(m.acked for m in members)}
    assert len(acked) == CLIENTS * MESSAGES_PER_CLIENT, "a retried send must return the original, not a copy"
    assert sum(m.connections for m in members) > CLIENTS, "clients on the killed replica reconnected"
    expected = sorted(acked.values(), key=lambda message: message["seq"])
    assert [m["seq"] for m in expected] == list(range(expected[0]["seq"], expected[0]["seq"] + len(expected)))
    for member in members:
        assert [m["id"] for _, m in sorted(member.timeline.items())] == [m["id"] for m in expected]
        assert max(member.live.values()) == 1, "a message was delivered twice on one connection"
    print(
        f"acked {len(acked)}, retried after the kill {sum(m.retried for m in members)}, "
        f"connections {sum(m.connections for m in members)} for {CLIENTS} clients"
    )
