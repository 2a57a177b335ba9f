"""Notifications over REST: preferences, listing, marking read, upload status and DND by status."""

import time

from tests.utils.sockets import SocketUser
from tests.utils.tokens import new_user_id


def _post(client, channel_id: str, body: str) -> dict:
    response = client.post(
        f"/channels/{channel_id}/messages", json={"body": body, "client_msg_id": new_user_id()}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _wait_listed(client, count: int) -> list[dict]:
    """Notifications are stored after the message's commit, off the ack path: poll briefly."""
    for _ in range(100):
        listed = client.get("/notifications").json()["notifications"]
        if len(listed) >= count:
            return listed
        time.sleep(0.05)
    raise AssertionError(f"expected {count} notifications, have {listed}")


def test_preferences_default_then_round_trip_per_channel(api) -> None:
    alice_id = new_user_id("alice")
    alice = api(alice_id)
    channel = alice.post("/channels", json={"name": "prefs"}).json()
    defaults = alice.get("/notification-preferences").json()
    assert defaults == {
        "dm": True,
        "mentions": True,
        "sound": True,
        "dnd": False,
        "dnd_allow": [],
        "channels": [{"channel_id": channel["id"], "level": "mentions", "muted": False}],
    }
    wanted = {
        **defaults,
        "sound": False,
        "dnd": True,
        "dnd_allow": ["dm"],
        "channels": [{"channel_id": channel["id"], "level": "all", "muted": True}],
    }
    assert alice.put("/notification-preferences", json=wanted).json() == wanted
    assert alice.get("/notification-preferences").json() == wanted


def test_preferences_for_a_channel_one_is_not_in_are_404_and_bad_values_422(api) -> None:
    alice, mallory = api(new_user_id("alice")), api(new_user_id("mallory"))
    channel = alice.post("/channels", json={"name": "mine"}).json()
    foreign = {"channels": [{"channel_id": channel["id"], "level": "all", "muted": False}]}
    response = mallory.put("/notification-preferences", json=foreign)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert mallory.get("/notification-preferences").json()["channels"] == []
    bad = alice.put(
        "/notification-preferences", json={"channels": [{"channel_id": channel["id"], "level": "loud"}]}
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    assert alice.put("/notification-preferences", json={"dnd_allow": ["everything"]}).status_code == 422


def test_listing_marking_read_and_unread_counts(api) -> None:
    alice_id, bob_id = new_user_id("alice"), new_user_id("bob")
    alice, bob = api(alice_id), api(bob_id)
    channel = alice.post("/channels", json={"name": "n"}).json()
    bob.post(f"/channels/{channel['id']}/join")
    first, second = (
        _post(alice, channel["id"], f"@{bob_id} one"),
        _post(alice, channel["id"], f"@{bob_id} two"),
    )
    listed = _wait_listed(bob, 2)
    assert [n["message_id"] for n in listed] == [second["id"], first["id"]]  # newest first
    assert all(n["kind"] == "mention" and not n["read"] and n["channel_id"] == channel["id"] for n in listed)
    assert f"@{bob_id} two" in listed[0]["text"]
    assert bob.get("/notifications").json()["unread"] == 2
    assert alice.post("/notifications/read", json={"ids": [listed[0]["id"]]}).json() == {"unread": 0}
    assert bob.post("/notifications/read", json={"ids": [listed[0]["id"]]}).json() == {"unread": 1}
    unread = bob.get("/notifications", params={"unread": True}).json()["notifications"]
    assert [n["message_id"] for n in unread] == [first["id"]]
    assert bob.post("/notifications/read", json={"ids": []}).status_code == 422


async def test_upload_status_reaches_the_uploader_as_a_notification(relay_server, signing_keys, api) -> None:
    user_id = new_user_id("alice")
    alice = api(user_id)
    socket = await SocketUser(relay_server.url, signing_keys.mint(user_id)).connect()
    try:
        presigned = alice.post(
            "/uploads", json={"filename": "n.txt", "content_type": "text/plain", "size": 2}
        ).json()
        alice.post(f"/uploads/{presigned['id']}/complete")  # nothing uploaded: rejected as missing
        pushed = await socket.wait_for("notification", lambda n: n["kind"] == "upload")
        assert "n.txt was rejected: missing" in pushed["text"]
        assert set(pushed) == {"id", "kind", "channel_id", "message_id", "text", "created_at"}
    finally:
        await socket.close()
    assert [n["kind"] for n in alice.get("/notifications").json()["notifications"]] == ["upload"]


def test_dnd_status_keeps_notifications_listed(api) -> None:
    """Status dnd (PUT /me/status) suppresses live pushes like the preference; the list keeps them."""
    alice_id, bob_id = new_user_id("alice"), new_user_id("bob")
    alice, bob = api(alice_id), api(bob_id)
    assert bob.put("/me/status", json={"status": "dnd"}).status_code == 200
    dm = alice.post("/dms", json={"user_ids": [bob_id]}).json()
    message = _post(alice, dm["id"], "are you there")
    assert [n["message_id"] for n in _wait_listed(bob, 1)] == [message["id"]]
