"""Floods from one user (issue 7, findings 4 and 10): one message budget (10/s, burst 20) whether
messages come by REST or by socket, and typing throttled per user and channel before fan-out.
Through haproxy to both replicas, so the suite's guards see every answer."""

import asyncio
import time
from typing import NamedTuple

import httpx
import pytest

from tests.security.attacks import ANSWER_WITHIN, fresh_loopback
from tests.utils.tokens import new_user_id
from topology import Topology

BURST, RATE = 20, 10  # DESIGN §4 message budget
TYPING_RATE = 3


class Room(NamedTuple):
    alice_token: str
    bob_token: str
    channel_id: str
    second_channel_id: str
    alice: httpx.Client


@pytest.fixture
def room(lb_api, mint) -> Room:
    """Alice (the flooder) and Bob share two public channels."""
    alice_id, bob_id = new_user_id("flooder"), new_user_id("bystander")
    alice, bob = lb_api(alice_id), lb_api(bob_id)
    channels = [alice.post("/channels", json={"name": name}).json()["id"] for name in ("flood", "second")]
    for channel_id in channels:
        assert bob.post(f"/channels/{channel_id}/join").status_code == 200
    return Room(mint(alice_id), mint(bob_id), *channels, alice)


def send(channel_id: str, client_msg_id: str) -> dict:
    return {"channel_id": channel_id, "body": f"text {client_msg_id}", "client_msg_id": client_msg_id}


def within_budget(accepted: int, elapsed: float) -> bool:
    """A burst of 20 plus 10/s refill over the run, plus one token of rounding."""
    return accepted <= BURST + RATE * elapsed + 1


async def post_burst(
    topology: Topology, token: str, channel_id: str, count: int, tag: str
) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.AsyncHTTPTransport(local_address=fresh_loopback(), verify=topology.ssl_context())
    async with httpx.AsyncClient(
        base_url=f"{topology.url}/api", transport=transport, headers=headers, timeout=ANSWER_WITHIN
    ) as client:
        return await asyncio.gather(
            *(
                client.post(
                    f"/channels/{channel_id}/messages", json={"body": "x", "client_msg_id": f"{tag}{n}"}
                )
                for n in range(count)
            )
        )


async def test_rest_message_flood_is_limited_like_the_socket(room, topology) -> None:
    alice_token, _bob_token, channel_id, _second, alice = room
    started = time.monotonic()
    responses = await post_burst(topology, alice_token, channel_id, 40, "rest")
    elapsed = time.monotonic() - started
    created = [response for response in responses if response.status_code == 201]
    limited = [response for response in responses if response.status_code == 429]
    assert len(created) + len(limited) == 40, {response.status_code for response in responses}
    assert len(created) >= BURST and within_budget(len(created), elapsed), (
        f"{len(created)} in {elapsed:.2f} s"
    )
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].json()["error"]["code"] == "rate_limited"
    stored = alice.get(f"/channels/{channel_id}/messages", params={"limit": 200}).json()["messages"]
    assert len(stored) == len(created), "every 201 is stored, no 429 is"


async def test_socket_and_rest_share_one_message_budget(room, topology, lb_socket) -> None:
    alice_token, _bob_token, channel_id, _second, _alice = room
    alice = await lb_socket(alice_token).connect()
    try:
        started = time.monotonic()
        acks, responses = await asyncio.gather(
            asyncio.gather(*(alice.call("message:send", send(channel_id, f"sock{n}")) for n in range(BURST))),
            post_burst(topology, alice_token, channel_id, BURST, "rest"),
        )
        elapsed = time.monotonic() - started
    finally:
        await alice.close()
    accepted = sum(ack["ok"] for ack in acks) + [r.status_code for r in responses].count(201)
    assert within_budget(accepted, elapsed), f"{accepted} of {2 * BURST} accepted in {elapsed:.2f} s"


async def test_rest_flood_then_socket_sends_share_one_budget(room, topology, lb_socket) -> None:
    alice_token, _bob_token, channel_id, _second, _alice = room
    alice = await lb_socket(alice_token).connect()
    try:
        started = time.monotonic()
        responses = await post_burst(topology, alice_token, channel_id, BURST + 5, "first")
        acks = await asyncio.gather(
            *(alice.call("message:send", send(channel_id, f"late{n}")) for n in range(10))
        )
        elapsed = time.monotonic() - started
    finally:
        await alice.close()
    accepted = sum(ack["ok"] for ack in acks) + [r.status_code for r in responses].count(201)
    assert within_budget(accepted, elapsed), f"{accepted} of {BURST + 15} accepted in {elapsed:.2f} s"
    refused = [ack for ack in acks if not ack["ok"]]
    assert all(ack["error"]["code"] == "rate_limited" for ack in refused), refused


async def test_message_budget_is_per_user(room, topology) -> None:
    alice_token, bob_token, channel_id, _second, _alice = room
    await post_burst(topology, alice_token, channel_id, BURST + 5, "alice")
    responses = await post_burst(topology, bob_token, channel_id, 5, "bob")
    assert [response.status_code for response in responses] == [201] * 5


async def typing_burst(lb_socket, sender_token: str, watcher_token: str, channels: list[str]):
    sender = await lb_socket(sender_token).connect()
    watcher = await lb_socket(watcher_token).connect()
    try:
        started = time.monotonic()
        for channel_id in channels:
            for _ in range(200):
                await sender.client.emit("typing", {"channel_id": channel_id})
        # a marker after the burst: once it arrives, every typing event before it has too
        marker = await sender.call("message:send", send(channels[0], "marker"))
        await watcher.wait_for("message:new", lambda message: message["id"] == marker["message"]["id"])
        await asyncio.sleep(0.3)  # typing and messages travel separately; let stragglers land
        return watcher.events["typing"], time.monotonic() - started
    finally:
        await sender.close()
        await watcher.close()


async def test_typing_flood_reaches_others_throttled(room, lb_socket) -> None:
    alice_token, bob_token, channel_id, _second, _alice = room
    received, elapsed = await typing_burst(lb_socket, alice_token, bob_token, [channel_id])
    assert 1 <= len(received) <= TYPING_RATE + TYPING_RATE * elapsed + 1, (len(received), elapsed)


async def test_typing_throttle_is_per_channel(room, lb_socket) -> None:
    alice_token, bob_token, channel_id, second, _alice = room
    received, _elapsed = await typing_burst(lb_socket, alice_token, bob_token, [channel_id, second])
    assert {event["channel_id"] for event in received} == {channel_id, second}


async def test_typing_into_a_channel_one_is_not_in_reaches_nobody(room, lb_socket, mint) -> None:
    _alice_token, bob_token, channel_id, _second, _alice = room
    outsider = await lb_socket(mint(new_user_id("outsider"))).connect()
    bob = await lb_socket(bob_token).connect()
    try:
        for _ in range(5):
            await outsider.client.emit("typing", {"channel_id": channel_id})
        await asyncio.sleep(0.5)
        assert bob.events["typing"] == []
    finally:
        await outsider.close()
        await bob.close()
