"""Presence from live sockets across replicas (Redis), pushed to users who share a channel."""

import asyncio

import httpx
import pytest

from tests.utils.relay_process import RelayProcess
from tests.utils.sockets import SocketUser
from tests.utils.tokens import new_user_id


class Member:
    def __init__(self, server_url: str, keys, user_id: str) -> None:
        self.id, self.keys, self.server_url = user_id, keys, server_url
        self.http = httpx.AsyncClient(
            base_url=f"{server_url}/api", headers={"Authorization": f"Bearer {keys.mint(user_id)}"}
        )

    async def socket(self, server_url: str | None = None) -> SocketUser:
        return await SocketUser(server_url or self.server_url, self.keys.mint(self.id)).connect()

    async def seen_status(self, other_id: str) -> str:
        users = (await self.http.get("/users", params={"q": other_id})).json()["users"]
        return next(user["status"] for user in users if user["id"] == other_id)


@pytest.fixture
async def sharing(relay_server, relay_server_b, signing_keys):
    """alice (watching on replica A) and bob, members of one channel; yields (alice, alice_socket, bob)."""
    alice = Member(relay_server.url, signing_keys, new_user_id("alice"))
    bob = Member(relay_server_b.url, signing_keys, new_user_id("bob"))
    channel = (await alice.http.post("/channels", json={"name": "room"})).json()
    await bob.http.post(f"/channels/{channel['id']}/join")
    watcher = await alice.socket()
    yield alice, watcher, bob
    await watcher.close()
    await alice.http.aclose()
    await bob.http.aclose()


def _about(user_id: str, status: str):
    return lambda event: event["user_id"] == user_id and event["status"] == status


async def test_connecting_on_another_replica_is_pushed_as_online(sharing) -> None:
    alice, watcher, bob = sharing
    assert await alice.seen_status(bob.id) == "offline"
    bob_socket = await bob.socket()
    await watcher.wait_for("presence", _about(bob.id, "online"))
    assert await alice.seen_status(bob.id) == "online"
    await bob_socket.close()
    await watcher.wait_for("presence", _about(bob.id, "offline"))
    assert await alice.seen_status(bob.id) == "offline"


async def test_status_is_shown_only_while_a_socket_is_live(sharing) -> None:
    alice, watcher, bob = sharing
    await bob.http.put("/me/status", json={"status": "dnd", "text": "deep work", "emoji": ":headphones:"})
    assert await alice.seen_status(bob.id) == "offline"
    bob_socket = await bob.socket()
    event = await watcher.wait_for("presence", _about(bob.id, "dnd"))
    assert event == {"user_id": bob.id, "status": "dnd", "text": "deep work", "emoji": ":headphones:"}
    await bob.http.put("/me/status", json={"status": "away"})
    await watcher.wait_for("presence", _about(bob.id, "away"))
    assert await alice.seen_status(bob.id) == "away"
    await bob_socket.close()


async def test_second_socket_keeps_the_user_online_until_the_last_closes(sharing, relay_server) -> None:
    alice, watcher, bob = sharing
    first, second = await bob.socket(), await bob.socket(relay_server.url)
    await watcher.wait_for("presence", _about(bob.id, "online"))
    await first.close()
    await asyncio.sleep(0.5)
    assert await alice.seen_status(bob.id) == "online"
    assert not [e for e in watcher.events["presence"] if e["user_id"] == bob.id and e["status"] == "offline"]
    await second.close()
    await watcher.wait_for("presence", _about(bob.id, "offline"))


async def test_users_of_a_killed_replica_go_offline_on_their_own(sharing, relay_env, tmp_path) -> None:
    alice, watcher, bob = sharing
    doomed = RelayProcess.start(relay_env, tmp_path, name="doomed")
    try:
        await bob.socket(doomed.url)
        await watcher.wait_for("presence", _about(bob.id, "online"))
        doomed.kill()
        # RELAY_PRESENCE_TTL_SECONDS is 4 in tests (45 by default: under 60 s with the sweep).
        await watcher.wait_for("presence", _about(bob.id, "offline"), within=15)
        assert await alice.seen_status(bob.id) == "offline"
    finally:
        doomed.kill()


async def test_users_connecting_together_on_another_replica_are_each_announced_once(
    sharing, signing_keys
) -> None:
    """Changes within one batch reach the other replica as one event, one argument per user."""
    alice, watcher, bob = sharing
    carol = Member(bob.server_url, signing_keys, new_user_id("carol"))
    channel = (await alice.http.get("/channels")).json()["channels"][0]["id"]
    await carol.http.post(f"/channels/{channel}/join")
    sockets = await asyncio.gather(bob.socket(), carol.socket())
    for member in (bob, carol):
        await watcher.wait_for("presence", _about(member.id, "online"))
    await asyncio.sleep(1.5)  # a later batch would repeat nobody
    others = [e["user_id"] for e in watcher.events["presence"] if e["user_id"] != alice.id]
    assert sorted(others) == sorted([bob.id, carol.id])
    for socket in sockets:
        await socket.close()
    await carol.http.aclose()
