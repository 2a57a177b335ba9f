"""Notifications, table-driven: each kind x each preference x do-not-disturb, across two replicas.

The sender posts over REST to replica A (which stores and pushes the notifications); the recipient,
an observer and a non-member listen on replica B. After the five triggers the sender mentions the
observer: notifications leave replica A in order, so once the observer has that one, everything
the recipient was going to be pushed has arrived too.
"""

import httpx
import pytest

from tests.utils.sockets import SocketUser
from tests.utils.tokens import new_user_id

TRIGGERS = ("message", "mention", "channel_mention", "reply", "dm")
# What the recipient gets stored per trigger, by preference (- = nothing). Written out by hand from
# the rules in relay.services.notifications, not computed by them.
EXPECTED = {
    #                 message    mention    channel_mention  reply    dm
    "default": (None, "mention", "mention", "reply", "dm"),
    "level all": ("message", "mention", "mention", "reply", "dm"),
    "level mentions": (None, "mention", "mention", "reply", "dm"),
    "level none": (None, None, None, None, "dm"),
    "muted": (None, "mention", None, None, "dm"),
    "dm off": (None, "mention", "mention", "reply", None),
    "mentions off": (None, None, None, "reply", "dm"),
}
DND = {"off": None, "on": [], "on, dm and mentions allowed": ["dm", "mention"]}


def _preferences(case: str, dnd: list[str] | None, channel_id: str) -> dict:
    channel = {"channel_id": channel_id, "level": "mentions", "muted": False}
    if case == "level all":
        channel["level"] = "all"
    elif case == "level none":
        channel["level"] = "none"
    elif case == "muted":
        channel["muted"] = True
    return {
        "dm": case != "dm off",
        "mentions": case != "mentions off",
        "sound": True,
        "dnd": dnd is not None,
        "dnd_allow": dnd or [],
        "channels": [channel] if case != "default" else [],
    }


class Party:
    def __init__(self, server, keys, prefix: str) -> None:
        self.id = new_user_id(prefix)
        self.token = keys.mint(self.id)
        self.http = httpx.Client(
            base_url=f"{server.url}/api", headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )
        self.socket: SocketUser | None = None

    def post(self, channel_id: str, body: str, **extra) -> dict:
        payload = {"body": body, "client_msg_id": new_user_id("cm"), **extra}
        response = self.http.post(f"/channels/{channel_id}/messages", json=payload)
        assert response.status_code == 201, response.text
        return response.json()


@pytest.mark.parametrize("dnd", DND)
@pytest.mark.parametrize("case", EXPECTED)
async def test_each_kind_reaches_the_recipient_as_its_preferences_say(
    relay_server, relay_server_b, signing_keys, case, dnd
) -> None:
    sender = Party(relay_server, signing_keys, "sender")
    recipient, observer, outsider = (Party(relay_server_b, signing_keys, p) for p in ("rcpt", "obs", "out"))
    channel = sender.http.post("/channels", json={"name": "notify"}).json()["id"]
    for member in (recipient, observer):
        assert member.http.post(f"/channels/{channel}/join").status_code == 200
    outsider.http.get("/me")
    dm = sender.http.post("/dms", json={"user_ids": [recipient.id]}).json()["id"]
    saved = recipient.http.put("/notification-preferences", json=_preferences(case, DND[dnd], channel))
    assert saved.status_code == 200, saved.text
    own = recipient.post(channel, "a question")
    for party in (recipient, observer, outsider):
        party.socket = await SocketUser(relay_server_b.url, party.token).connect()
    try:
        # Replica B subscribes to Redis on its first socket: wait until a push from A gets through.
        ready = sender.post(channel, f"@{observer.id} ready")
        await observer.socket.wait_for("notification", lambda n: n["message_id"] == ready["id"])
        triggers = {
            "message": sender.post(channel, "hello all"),
            "mention": sender.post(channel, f"hi @{recipient.id} and @{outsider.id}"),
            "channel_mention": sender.post(channel, "@channel look"),
            "reply": sender.post(channel, "an answer", parent_id=own["id"]),
            "dm": sender.post(dm, "psst"),
        }
        sentinel = sender.post(channel, f"@{observer.id} done")
        await observer.socket.wait_for("notification", lambda n: n["message_id"] == sentinel["id"])

        expected = {
            triggers[trigger]["id"]: kind
            for trigger, kind in zip(TRIGGERS, EXPECTED[case], strict=True)
            if kind
        }
        ids = {message["id"] for message in triggers.values()}  # not the sentinels (level all sees them)
        listed = [
            n for n in recipient.http.get("/notifications").json()["notifications"] if n["message_id"] in ids
        ]
        assert {n["message_id"]: n["kind"] for n in listed} == expected
        allowed = DND[dnd]
        pushed = {mid: kind for mid, kind in expected.items() if allowed is None or kind in allowed}
        # Order holds per connection only: the recipient's pushes may land just after the observer's
        # sentinel (the native server writes each connection once per loop pass, issue 13).
        for message_id in pushed:
            await recipient.socket.wait_for("notification", lambda n, mid=message_id: n["message_id"] == mid)
        received = [n for n in recipient.socket.events["notification"] if n["message_id"] in ids]
        assert {n["message_id"]: n["kind"] for n in received} == pushed
        assert len(received) == len(pushed)  # none twice
        assert outsider.socket.events["notification"] == []
        assert outsider.http.get("/notifications").json()["notifications"] == []
    finally:
        for party in (recipient, observer, outsider):
            await party.socket.close()
        for party in (sender, recipient, observer, outsider):
            party.http.close()


async def test_here_notifies_only_online_unmuted_members_and_channel_every_unmuted_member(
    relay_server, relay_server_b, signing_keys
) -> None:
    """`@here` asks presence (a live socket on any replica); `@channel` does not; mute wins over both."""
    sender = Party(relay_server, signing_keys, "sender")
    online, offline, muted = (Party(relay_server_b, signing_keys, p) for p in ("online", "offline", "muted"))
    channel = sender.http.post("/channels", json={"name": "here"}).json()["id"]
    for member in (online, offline, muted):
        assert member.http.post(f"/channels/{channel}/join").status_code == 200
    saved = muted.http.put("/notification-preferences", json=_preferences("muted", None, channel))
    assert saved.status_code == 200, saved.text
    online.socket = await SocketUser(relay_server_b.url, online.token).connect()
    muted.socket = await SocketUser(relay_server_b.url, muted.token).connect()
    try:
        here = sender.post(channel, "@here standup in 5")
        everyone = sender.post(channel, "@channel release is out")
        await online.socket.wait_for("notification", lambda n: n["message_id"] == everyone["id"])
        # `everyone`'s notifications are committed together, before its push: the listing is complete.
        by_user = {
            party.id: {
                n["message_id"]: n["kind"]
                for n in party.http.get("/notifications").json()["notifications"]
                if n["message_id"] in (here["id"], everyone["id"])
            }
            for party in (online, offline, muted)
        }
        assert by_user[online.id] == {here["id"]: "mention", everyone["id"]: "mention"}
        assert by_user[offline.id] == {everyone["id"]: "mention"}
        assert by_user[muted.id] == {}
        assert [n["message_id"] for n in online.socket.events["notification"]] == [here["id"], everyone["id"]]
        assert muted.socket.events["notification"] == []
    finally:
        for party in (online, muted):
            await party.socket.close()
        for party in (sender, online, offline, muted):
            party.http.close()
