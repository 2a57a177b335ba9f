"""Socket delivery across two replicas: acked sends, broadcasts, retries, edits, typing, room joins."""

import asyncio

import httpx
import pytest

from tests.utils.sockets import SocketUser
from tests.utils.tokens import new_user_id


@pytest.fixture
async def pair(relay_server, relay_server_b, signing_keys):
    """alice on replica A and bob on replica B, both members of one channel; yields (alice, bob, channel)."""
    alice_id, bob_id = new_user_id("alice"), new_user_id("bob")
    alice_http = httpx.AsyncClient(
        base_url=f"{relay_server.url}/api", headers={"Authorization": f"Bearer {signing_keys.mint(alice_id)}"}
    )
    bob_http = httpx.AsyncClient(
        base_url=f"{relay_server_b.url}/api", headers={"Authorization": f"Bearer {signing_keys.mint(bob_id)}"}
    )
    channel = (await alice_http.post("/channels", json={"name": "room"})).json()
    await bob_http.post(f"/channels/{channel['id']}/join")
    alice = await SocketUser(relay_server.url, signing_keys.mint(alice_id)).connect()
    bob = await SocketUser(relay_server_b.url, signing_keys.mint(bob_id)).connect()
    alice.id, bob.id, alice.http, bob.http = alice_id, bob_id, alice_http, bob_http
    yield alice, bob, channel["id"]
    await alice.close()
    await bob.close()
    await alice_http.aclose()
    await bob_http.aclose()


async def test_send_is_acked_with_the_stored_message_and_reaches_the_other_replica(pair) -> None:
    alice, bob, channel_id = pair
    ack = await alice.call("message:send", {"channel_id": channel_id, "body": "hi", "client_msg_id": "c1"})
    assert ack["ok"] is True
    message = ack["message"]
    assert message["body"] == "hi" and message["author_id"] == alice.id and message["seq"] == 1
    assert await bob.wait_for("message:new") == message
    assert await alice.wait_for("message:new") == message  # the sender is in the room too
    stored = (await bob.http.get(f"/channels/{channel_id}/messages")).json()["messages"]
    assert stored == [message]


async def test_retried_send_returns_the_original_and_is_not_broadcast_twice(pair) -> None:
    alice, bob, channel_id = pair
    payload = {"channel_id": channel_id, "body": "once", "client_msg_id": "dup"}
    first, second = await alice.call("message:send", payload), await alice.call("message:send", payload)
    assert first == second and first["ok"]
    await alice.call("message:send", {"channel_id": channel_id, "body": "marker", "client_msg_id": "m"})
    await bob.wait_for("message:new", lambda m: m["body"] == "marker")
    assert [m["body"] for m in bob.events["message:new"]] == ["once", "marker"]


async def test_send_errors_are_acked_with_the_error_body(pair, api) -> None:
    alice, _bob, channel_id = pair
    empty = await alice.call("message:send", {"channel_id": channel_id, "body": "", "client_msg_id": "e"})
    assert (
        empty["ok"] is False
        and empty["error"]["code"] == "invalid_body"
        and "4000" in empty["error"]["message"]
    )
    other = api(new_user_id("carol")).post("/channels", json={"name": "closed", "private": True}).json()
    refused = await alice.call("message:send", {"channel_id": other["id"], "body": "x", "client_msg_id": "n"})
    assert refused == {"ok": False, "error": {"code": "not_found", "message": refused["error"]["message"]}}
    malformed = await alice.call("message:send", {"body": "no channel"})
    assert malformed["ok"] is False and malformed["error"]["code"] == "invalid_request"


async def test_rest_posts_edits_and_deletes_are_broadcast(pair) -> None:
    alice, bob, channel_id = pair
    posted = await alice.http.post(
        f"/channels/{channel_id}/messages", json={"body": "via rest", "client_msg_id": "r"}
    )
    message = posted.json()
    assert await bob.wait_for("message:new") == message
    url = f"/channels/{channel_id}/messages/{message['id']}"
    edited = (await alice.http.patch(url, json={"body": "edited"})).json()
    assert await bob.wait_for("message:updated") == edited
    deleted = (await alice.http.delete(url)).json()
    assert await bob.wait_for("message:deleted") == deleted
    assert deleted["body"] == "" and deleted["deleted_at"]


async def test_typing_reaches_other_members_only(pair) -> None:
    alice, bob, channel_id = pair
    await alice.client.emit("typing", {"channel_id": channel_id})
    assert await bob.wait_for("typing") == {"channel_id": channel_id, "user_id": alice.id}
    assert alice.events["typing"] == []


async def test_being_added_joins_live_sockets_on_another_replica(pair, relay_server_b, signing_keys) -> None:
    alice, _bob, _channel_id = pair
    carol_id = new_user_id("carol")
    carol = await SocketUser(relay_server_b.url, signing_keys.mint(carol_id)).connect()
    try:
        private = (await alice.http.post("/channels", json={"name": "inner", "private": True})).json()
        added = await alice.http.post(f"/channels/{private['id']}/members", json={"user_id": carol_id})
        assert added.status_code == 204
        ack = await alice.call(
            "message:send", {"channel_id": private["id"], "body": "welcome", "client_msg_id": "w"}
        )
        assert await carol.wait_for("message:new") == ack["message"]
    finally:
        await carol.close()


async def test_long_polling_transport_delivers(relay_server, relay_server_b, signing_keys, pair) -> None:
    alice, _bob, channel_id = pair
    dave_id = new_user_id("dave")
    async with httpx.AsyncClient() as http:
        await http.post(
            f"{relay_server_b.url}/api/channels/{channel_id}/join",
            headers={"Authorization": f"Bearer {signing_keys.mint(dave_id)}"},
        )
    dave = await SocketUser(relay_server_b.url, signing_keys.mint(dave_id), transports=["polling"]).connect()
    try:
        assert dave.client.transport() == "polling"
        ack = await alice.call(
            "message:send", {"channel_id": channel_id, "body": "poll", "client_msg_id": "p"}
        )
        assert await dave.wait_for("message:new") == ack["message"]
    finally:
        await dave.close()


async def test_message_send_is_rate_limited_per_user(pair) -> None:
    alice, _bob, channel_id = pair
    # Sent at once, so the bucket (10/s) refills by at most a token or two meanwhile.
    acks = await asyncio.gather(
        *(
            alice.call("message:send", {"channel_id": channel_id, "body": f"m{n}", "client_msg_id": f"rl{n}"})
            for n in range(40)
        )
    )
    refused = [ack for ack in acks if not ack["ok"]]
    assert 20 <= len(acks) - len(refused) <= 25, "a burst of 20 passes, the rest is refused"
    assert refused[0]["error"]["code"] == "rate_limited"
    assert "retry after" in refused[0]["error"]["message"]


def _metric(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


async def test_metrics_count_sockets_sent_and_delivered_messages(pair, relay_server_b) -> None:
    alice, bob, channel_id = pair
    async with httpx.AsyncClient() as http:
        before = (await http.get(f"{relay_server_b.url}/metrics")).text
        await alice.call(
            "message:send", {"channel_id": channel_id, "body": "count me", "client_msg_id": "cm"}
        )
        await bob.wait_for("message:new")
        after = (await http.get(f"{relay_server_b.url}/metrics")).text
    assert _metric(after, "relay_socket_connections") >= 1
    delivered = _metric(after, "relay_messages_delivered_total") - _metric(
        before, "relay_messages_delivered_total"
    )
    assert delivered >= 1  # bob's socket on replica B received the broadcast from replica A


async def test_non_members_and_leavers_are_not_notified(
    pair, relay_server, relay_server_b, signing_keys
) -> None:
    alice, bob, channel_id = pair
    mallory_id = new_user_id("mallory")
    mallory = await SocketUser(relay_server_b.url, signing_keys.mint(mallory_id)).connect()
    try:
        lobby = (await alice.http.post("/channels", json={"name": "lobby"})).json()
        await bob.http.post(f"/channels/{lobby['id']}/join")
        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {signing_keys.mint(mallory_id)}"}
        ) as http:
            await http.post(f"{relay_server_b.url}/api/channels/{lobby['id']}/join")
        # bob's socket is on replica B; he leaves through replica A
        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {signing_keys.mint(bob.id)}"}
        ) as http:
            left = await http.post(f"{relay_server.url}/api/channels/{channel_id}/leave")
        assert left.status_code == 204
        await alice.call(
            "message:send", {"channel_id": channel_id, "body": "members only", "client_msg_id": "s"}
        )
        await alice.call("message:send", {"channel_id": lobby["id"], "body": "marker", "client_msg_id": "mk"})
        for user in (bob, mallory):
            await user.wait_for("message:new", lambda m: m["body"] == "marker")
            assert [m["body"] for m in user.events["message:new"]] == ["marker"]
    finally:
        await mallory.close()
