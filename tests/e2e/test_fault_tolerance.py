"""No accepted message is lost or duplicated when a replica dies mid-conversation (DESIGN.md §4,
"Delivery"): 20 members send 1,000 messages through haproxy while one replica is killed with
SIGKILL; every member reconnects through the load balancer, catches up, and ends with every
acknowledged message exactly once, in sequence order."""

import asyncio
import signal
import uuid
from collections import Counter
from collections.abc import Callable

from tests.e2e.resilient_member import ResilientMember
from topology import Topology
from topology.chat import ChatUser, create_shared_channel

MEMBERS = 20
MESSAGES = 1_000
SEND_INTERVAL_SECONDS = 0.2  # 5 messages/s per member: under the 10/s per-user limit
KILL_AFTER_MESSAGES = 250


async def test_killing_a_replica_loses_and_duplicates_no_acknowledged_message(
    healthy: Topology, mint: Callable[[str], str]
) -> None:
    context = healthy.ssl_context()
    tokens = [mint(f"fault-{n}") for n in range(MEMBERS)]
    users = [ChatUser(healthy.url, token, context) for token in tokens]
    channel_id = await create_shared_channel(users[0], *users[1:], name=f"fault-{uuid.uuid4().hex[:8]}")
    # Half on each transport: websocket clients see the kill at once, polling ones at their next poll.
    members = [
        ResilientMember(healthy.url, token, context, channel_id, "websocket" if n % 2 else "polling")
        for n, token in enumerate(tokens)
    ]
    await asyncio.gather(*(member.connect() for member in members))
    acked = 0
    midway = asyncio.Event()

    async def converse(member: ResilientMember, n: int) -> None:
        nonlocal acked
        for i in range(MESSAGES // MEMBERS):
            await member.send(f"member {n} message {i}")
            acked += 1
            if acked == KILL_AFTER_MESSAGES:
                midway.set()
            await asyncio.sleep(SEND_INTERVAL_SECONDS)

    async def kill_replica_midway() -> int:
        await midway.wait()
        return healthy.kill_replica("r1", signal.SIGKILL)

    try:
        *_, old_pid = await asyncio.wait_for(
            asyncio.gather(*(converse(m, n) for n, m in enumerate(members)), kill_replica_midway()), 120
        )
        # A client retrying a send the server already stored gets the original back, not a copy.
        retried = members[0].sends[0]
        original_id = retried.ack["id"]
        await members[0].resend(retried)
        assert retried.ack["id"] == original_id

        # The killed replica is restarted and back in rotation.
        await asyncio.to_thread(healthy.replicas.wait_restarted, "r1", old_pid)
        await asyncio.to_thread(healthy.wait_replica_serving, "r1")
        await asyncio.to_thread(healthy.wait_replica_state, "r1", "UP")

        for member in members:
            await member.catch_up()
        history = await members[0].history_after(0)
    finally:
        await asyncio.gather(*(member.close() for member in members), return_exceptions=True)

    reconnects = sum(member.reconnects for member in members)
    assert reconnects >= MEMBERS // 4, f"only {reconnects} reconnects: r1's members should have reconnected"
    acked_ids = {send.ack["id"] for member in members for send in member.sends}
    assert len(acked_ids) == MESSAGES
    duplicates = [key for key, count in Counter(m["client_msg_id"] for m in history).items() if count > 1]
    assert duplicates == [], f"retried sends were stored twice: {duplicates[:5]}"
    assert [m["seq"] for m in history] == list(range(1, len(history) + 1)), "sequence has holes"
    assert {m["id"] for m in history} == acked_ids, "the channel must hold exactly the acknowledged messages"
    for member in members:
        timeline = [member.timeline[seq]["id"] for seq in sorted(member.timeline)]
        assert timeline == [m["id"] for m in history], f"a member's timeline differs ({member.transport})"
