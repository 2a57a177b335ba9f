"""The steady load every fault runs under, and the figures it yields (issue 12).

Socket members (half websocket, half long-polling) send in small channels through haproxy, each
message acknowledged before the next; API users read beside them. After the fault, `finish()` stops
sending, lets every member settle (live delivery plus its own `?after=` catch-ups, no extra help
from the test), and compares what each member holds with what each channel stored.
"""

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from tests.utils.resilient_member import ACK_TIMEOUT_SECONDS, ResilientMember
from topology import Topology
from topology.chat import ChatUser, create_shared_channel

MEMBERS = 50
CHANNEL_SIZE = 10  # under the DM/channel limits, and a fan-out of 10 per message
SEND_INTERVAL_SECONDS = 2.0  # a message every 2 s per member: 25 messages/s, 250 deliveries/s
API_USERS = 4
API_INTERVAL_SECONDS = 0.2
SETTLE_SECONDS = 20.0


@dataclass
class ApiCall:
    started: float
    waited: float
    status: int | None  # None: no HTTP answer (connection refused, reset, timeout)
    error: str = ""


@dataclass
class Figures:
    """One row of the results table."""

    fault: str
    recovery_seconds: float
    client_errors: int
    api_errors: int
    lost: int
    duplicated: int
    longest_wait_seconds: float
    unanswered: int
    messages: int
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    notes: str = ""  # what a fault measures beyond the chat load (e.g. uploads during an S3 outage)


@dataclass
class Load:
    topology: Topology
    mint: Callable[[str], str]
    members: list[ResilientMember] = field(default_factory=list)
    api_calls: list[ApiCall] = field(default_factory=list)
    _senders: list[asyncio.Task] = field(default_factory=list)
    _readers: list[asyncio.Task] = field(default_factory=list)

    async def start(self) -> None:
        context = self.topology.ssl_context()
        tokens = [self.mint(f"load-{n}") for n in range(MEMBERS)]
        groups = [tokens[first : first + CHANNEL_SIZE] for first in range(0, MEMBERS, CHANNEL_SIZE)]

        async def channel_for(group: list[str]) -> str:
            users = [ChatUser(self.topology.url, token, context) for token in group]
            return await create_shared_channel(users[0], *users[1:], name=f"load-{uuid.uuid4().hex[:8]}")

        for group, channel_id in zip(groups, await asyncio.gather(*map(channel_for, groups)), strict=True):
            self.members += [
                ResilientMember(self.topology.url, token, context, channel_id, transport)
                for token, transport in zip(group, ("websocket", "polling") * CHANNEL_SIZE, strict=False)
            ]
        await asyncio.gather(*(member.connect() for member in self.members))
        self._stopping = asyncio.Event()
        self._senders = [asyncio.create_task(self._converse(member)) for member in self.members]
        self._readers = [
            asyncio.create_task(self._read_api(token, member.channel_id))
            for token, member in zip(tokens[:API_USERS], self.members[::CHANNEL_SIZE], strict=False)
        ]

    async def _converse(self, member: ResilientMember) -> None:
        await asyncio.sleep(random.uniform(0, SEND_INTERVAL_SECONDS))  # spread, not secrecy
        n = 0
        while not self._stopping.is_set():
            await member.send(f"{member.transport} message {n}")
            n += 1
            await asyncio.sleep(SEND_INTERVAL_SECONDS)

    async def _read_api(self, token: str, channel_id: str) -> None:
        async with httpx.AsyncClient(
            base_url=self.topology.url,
            verify=self.topology.ssl_context(),
            timeout=ACK_TIMEOUT_SECONDS,
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            paths = ("/api/me", f"/api/channels/{channel_id}/messages?limit=20")
            n = 0
            while not self._stopping.is_set():
                started = time.monotonic()
                try:
                    response = await client.get(paths[n % 2])
                    call = ApiCall(started, time.monotonic() - started, response.status_code)
                    if response.status_code >= 400:
                        call.error = response.text[:200]
                except httpx.HTTPError as error:
                    call = ApiCall(started, time.monotonic() - started, None, type(error).__name__)
                self.api_calls.append(call)
                n += 1
                await asyncio.sleep(API_INTERVAL_SECONDS)

    def recovery_after(self, moment: float) -> float:
        """Seconds after `moment` until every member has both an acknowledged send and a live
        delivery again (inf for a member that never did)."""
        worst = 0.0
        for member in self.members:
            acked = [s.acked_at for s in member.sends if s.acked_at is not None and s.acked_at >= moment]
            live = [t for t in member.live_at if t >= moment]
            if not acked or not live:
                return float("inf")
            worst = max(worst, min(acked) - moment, min(live) - moment)
        return worst

    def stragglers(self, moment: float, bound: float) -> list[str]:
        """The members not delivering `bound` s after `moment`, described for a failure message."""
        late = []
        for member in self.members:
            acked = [
                s.acked_at for s in member.sends if s.acked_at and moment <= s.acked_at <= moment + bound
            ]
            live = [t for t in member.live_at if moment <= t <= moment + bound]
            if not acked or not live:
                outcomes = Counter(a.outcome for a in member.attempts if a.started >= moment)
                late.append(
                    f"{member.transport} member (connected={member.sio.connected}, "
                    f"reconnects={member.reconnects}, acked={len(acked)}, live={len(live)}, {dict(outcomes)})"
                )
        return late

    async def wait_recovered(self, moment: float, bound: float) -> float:
        """Keep the load running until every member delivers again (or `bound` + 5 s passed)."""
        deadline = moment + bound + 5
        while time.monotonic() < deadline:
            if self.recovery_after(moment) != float("inf"):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2 * SEND_INTERVAL_SECONDS)  # a little steady traffic after recovery
        return self.recovery_after(moment)

    async def finish(self, fault: str, recovered_from: float) -> Figures:
        """Stop sending, let every member settle, and count what was lost or duplicated."""
        recovery = self.recovery_after(recovered_from)
        self._stopping.set()
        await asyncio.wait_for(asyncio.gather(*self._senders, *self._readers), ACK_TIMEOUT_SECONDS * 6)
        histories = {
            member.channel_id: await member.history_after(0) for member in self.members[::CHANNEL_SIZE]
        }
        await self._settle(histories)
        return self._figures(fault, recovery, histories)

    async def close(self) -> None:
        for task in (*self._senders, *self._readers):
            task.cancel()
        await asyncio.gather(*self._senders, *self._readers, return_exceptions=True)
        await asyncio.gather(*(member.close() for member in self.members), return_exceptions=True)

    async def _settle(self, histories: dict[str, list[dict]]) -> None:
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            if all(m.last_contiguous_seq >= len(histories[m.channel_id]) for m in self.members):
                return
            await asyncio.sleep(0.2)

    def _figures(self, fault: str, recovery: float, histories: dict[str, list[dict]]) -> Figures:
        lost = duplicated = 0
        for channel_id, history in histories.items():
            acked = {
                s.ack["id"] for m in self.members if m.channel_id == channel_id for s in m.sends if s.ack
            }
            stored = Counter(message["client_msg_id"] for message in history)
            duplicated += sum(count - 1 for count in stored.values())
            lost += len(acked - {message["id"] for message in history})
            assert [m["seq"] for m in history] == list(range(1, len(history) + 1)), "sequence has holes"
            order = [message["id"] for message in history]
            for member in (m for m in self.members if m.channel_id == channel_id):
                timeline = [member.timeline[seq]["id"] for seq in sorted(member.timeline)]
                lost += len(set(order) - set(timeline))
                duplicated += len(timeline) - len(set(timeline))
                phantoms = set(timeline) - set(order)
                assert not phantoms, f"a member received messages the channel never stored: {phantoms}"
                assert [i for i in timeline if i in order] == [i for i in order if i in timeline], (
                    f"a {member.transport} member holds messages out of sequence order"
                )
        attempts = [a for m in self.members for a in m.attempts]
        failed = [a for a in attempts if a.outcome != "ok"]
        api_failed = [c for c in self.api_calls if c.status is None or c.status >= 500]
        waits = [a.waited for a in attempts] + [c.waited for c in self.api_calls]
        return Figures(
            fault=fault,
            recovery_seconds=round(recovery, 2),
            client_errors=len(failed),
            api_errors=len(api_failed),
            lost=lost,
            duplicated=duplicated,
            longest_wait_seconds=round(max(waits, default=0.0), 2),
            unanswered=sum(a.outcome == "timeout" for a in attempts)
            + sum(c.error == "ReadTimeout" for c in self.api_calls),
            messages=sum(len(h) for h in histories.values()),
            errors_by_kind=dict(
                Counter(a.outcome for a in failed) + Counter(f"api {c.status or c.error}" for c in api_failed)
            ),
        )
