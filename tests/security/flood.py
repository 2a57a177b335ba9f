"""The attacker of tests/security/test_flood_latency.py, run as its own process so that generating
the flood does not slow the event loop that times the honest users (only the machine is shared).

`python -m tests.security.flood PLAN_FILE` reads a `FloodPlan` as JSON, floods the load balancer
during the plan's odd windows (0-based: windows 1, 3, 5, ...), each kind of attack from an address
of its own, and prints what it sent and what came back: {kind: {status or ack code: count}}.
Open loop at a fixed rate, like an attacker who does not wait for answers; at most CONCURRENCY
requests of a kind in flight, the rest counted as "skipped", so a stalled server cannot make the
attacker pile up work of its own.

The attacker runs at the lowest CPU priority (nice 19): on a real deployment it floods from a
machine of its own, so its CPU is not the service's. What its requests cost haproxy, the replicas,
Redis and Postgres still competes with the honest users, as it would in production.
"""

import asyncio
import json
import os
import ssl
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
import socketio

SOCKETIO = "/api/socketio/"
CONCURRENCY = 64
TICK_SECONDS = 0.01
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True)
class FloodPlan:
    url: str  # the load balancer
    ca_file: str
    token: str  # the attacking user's session token
    channel_id: str  # a channel the attacker is a member of
    start: float  # time.time() of window 0
    window_seconds: float
    windows: int
    rates: dict[str, float]  # per second, per kind of attack (ATTACKS)
    addresses: dict[str, str]  # the source address of each kind

    def flooding(self, now: float) -> bool:
        index = int((now - self.start) // self.window_seconds)
        return 0 <= index < self.windows and index % 2 == 1

    @property
    def end(self) -> float:
        return self.start + self.window_seconds * self.windows


Attack = Callable[[], Awaitable[str]]


class Attacker:
    def __init__(self, plan: FloodPlan) -> None:
        self.plan = plan
        self.context = ssl.create_default_context(cafile=plan.ca_file)
        self.outcomes: dict[str, Counter[str]] = {kind: Counter() for kind in plan.rates}
        self.sessions: dict[str, aiohttp.ClientSession] = {}
        self.socket: socketio.AsyncClient | None = None

    def session(self, kind: str) -> aiohttp.ClientSession:
        if kind not in self.sessions:
            connector = aiohttp.TCPConnector(
                ssl=self.context, local_addr=(self.plan.addresses[kind], 0), limit=CONCURRENCY
            )
            self.sessions[kind] = aiohttp.ClientSession(
                self.plan.url, connector=connector, timeout=REQUEST_TIMEOUT
            )
        return self.sessions[kind]

    async def status(self, kind: str, method: str, path: str, **kwargs: object) -> str:
        async with self.session(kind).request(method, path, **kwargs) as response:
            await response.read()
            return str(response.status)

    async def handshake(self) -> str:
        """A new Engine.IO session; one that is granted is then misused (a NOOP POST), which closes it."""
        session = self.session("handshake")
        async with session.get(SOCKETIO, params={"EIO": "4", "transport": "polling"}) as response:
            text = await response.text()
        if response.status != 200:
            return str(response.status)
        sid = json.loads(text[1:])["sid"]
        params = {"EIO": "4", "transport": "polling", "sid": sid}
        async with session.post(SOCKETIO, params=params, data=b"6") as misuse:
            await misuse.read()
        return f"200 then {misuse.status}"

    async def polling(self) -> str:
        """A long-polling POST to a session that does not exist."""
        params = {"EIO": "4", "transport": "polling", "sid": uuid.uuid4().hex[:20]}
        return await self.status("polling", "POST", SOCKETIO, params=params, data=b"40")

    async def rest_message(self) -> str:
        body = {"body": "flood", "client_msg_id": uuid.uuid4().hex}
        headers = {"Authorization": f"Bearer {self.plan.token}"}
        path = f"/api/channels/{self.plan.channel_id}/messages"
        return await self.status("rest_message", "POST", path, json=body, headers=headers)

    async def socket_message(self) -> str:
        assert self.socket is not None
        data = {"channel_id": self.plan.channel_id, "body": "flood", "client_msg_id": uuid.uuid4().hex}
        ack = await self.socket.call("message:send", data, timeout=10)
        return "ok" if ack.get("ok") else ack["error"]["code"]

    async def typing(self) -> str:
        assert self.socket is not None
        await self.socket.emit("typing", {"channel_id": self.plan.channel_id})
        return "sent"

    async def connect_socket(self) -> None:
        http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.context, local_addr=(self.plan.addresses["socket"], 0))
        )
        self.sessions["socket"] = http
        self.socket = socketio.AsyncClient(reconnection=False, http_session=http)
        await self.socket.connect(
            self.plan.url,
            socketio_path=SOCKETIO.strip("/"),
            auth={"token": self.plan.token},
            transports=["websocket"],
            wait_timeout=10,
        )

    async def flood(self, kind: str, attack: Attack) -> None:
        rate, outcomes = self.plan.rates[kind], self.outcomes[kind]
        in_flight: set[asyncio.Task[None]] = set()

        async def one() -> None:
            try:
                outcomes[await attack()] += 1
            except (aiohttp.ClientError, TimeoutError, socketio.exceptions.SocketIOError) as error:
                outcomes[type(error).__name__] += 1

        flooding_since: float | None = None
        sent = 0
        while (now := time.time()) < self.plan.end:
            if not self.plan.flooding(now):
                flooding_since, sent = None, 0
            else:
                flooding_since = flooding_since or now
                due = int((now - flooding_since) * rate) - sent
                for _ in range(due):
                    if len(in_flight) >= CONCURRENCY:
                        outcomes["skipped"] += 1
                        continue
                    task = asyncio.create_task(one())
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                sent += due
            await asyncio.sleep(TICK_SECONDS)
        if in_flight:
            await asyncio.wait(in_flight, timeout=11)

    async def run(self) -> dict[str, dict[str, float]]:
        attacks: dict[str, Attack] = {
            "handshake": self.handshake,
            "polling": self.polling,
            "rest_message": self.rest_message,
            "socket_message": self.socket_message,
            "typing": self.typing,
        }
        try:
            if {"socket_message", "typing"} & set(self.plan.rates):
                await self.connect_socket()
            await asyncio.gather(*(self.flood(kind, attacks[kind]) for kind in self.plan.rates))
        finally:
            if self.socket is not None:
                await self.socket.disconnect()
            for session in self.sessions.values():
                await session.close()
        report: dict[str, dict[str, float]] = {kind: dict(o) for kind, o in self.outcomes.items()}
        report["attacker"] = {"cpu_seconds": time.process_time()}
        return report


def plan_json(plan: FloodPlan) -> str:
    return json.dumps(asdict(plan))


def main() -> None:
    os.nice(19)
    plan = FloodPlan(**json.loads(Path(sys.argv[1]).read_text()))
    print(json.dumps(asyncio.run(Attacker(plan).run())))


if __name__ == "__main__":
    main()
