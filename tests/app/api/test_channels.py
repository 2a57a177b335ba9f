"""POST/GET /api/channels, join, leave, members: success, not-found and not-a-member (404) cases."""

from tests.utils.tokens import new_user_id


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def test_create_channel_returns_201_and_lists_it_for_the_creator(api) -> None:
    alice = api(new_user_id("alice"))
    created = alice.post("/channels", json={"name": "general"})
    assert created.status_code == 201, created.text
    channel = created.json()
    assert channel["name"] == "general" and channel["private"] is False and channel["kind"] == "channel"
    listed = alice.get("/channels").json()["channels"]
    assert [c["id"] for c in listed] == [channel["id"]]


def test_public_channels_are_browsable_and_joinable(api) -> None:
    alice, bob = api(new_user_id("alice")), api(new_user_id("bob"))
    public = alice.post("/channels", json={"name": "public-room"}).json()
    private = alice.post("/channels", json={"name": "secret-room", "private": True}).json()
    browsed = {c["id"] for c in bob.get("/channels", params={"scope": "public"}).json()["channels"]}
    assert public["id"] in browsed and private["id"] not in browsed
    joined = bob.post(f"/channels/{public['id']}/join")
    assert joined.status_code == 200 and joined.json()["id"] == public["id"]
    assert public["id"] in {c["id"] for c in bob.get("/channels").json()["channels"]}


def test_private_channel_cannot_be_joined_and_answers_like_an_unknown_id(api) -> None:
    alice, mallory = api(new_user_id("alice")), api(new_user_id("mallory"))
    private = alice.post("/channels", json={"name": "secret", "private": True}).json()
    refused = mallory.post(f"/channels/{private['id']}/join")
    unknown = mallory.post("/channels/0123456789abcdef0123456789abcdef/join")
    assert refused.status_code == unknown.status_code == 404
    assert _error(refused)["code"] == _error(unknown)["code"] == "not_found"


def test_any_member_of_a_private_channel_may_add_a_member(api) -> None:
    alice_id, bob_id, carol_id = new_user_id("alice"), new_user_id("bob"), new_user_id("carol")
    alice, bob, carol = api(alice_id), api(bob_id), api(carol_id)
    bob.get("/me"), carol.get("/me")  # users exist once they have signed in
    private = alice.post("/channels", json={"name": "secret", "private": True}).json()
    assert alice.post(f"/channels/{private['id']}/members", json={"user_id": bob_id}).status_code == 204
    assert bob.post(f"/channels/{private['id']}/members", json={"user_id": carol_id}).status_code == 204
    assert private["id"] in {c["id"] for c in carol.get("/channels").json()["channels"]}


def test_non_member_cannot_add_members_to_a_private_channel(api) -> None:
    alice, mallory_id = api(new_user_id("alice")), new_user_id("mallory")
    mallory = api(mallory_id)
    private = alice.post("/channels", json={"name": "secret", "private": True}).json()
    response = mallory.post(f"/channels/{private['id']}/members", json={"user_id": mallory_id})
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_adding_an_unknown_user_is_404(api) -> None:
    alice = api(new_user_id("alice"))
    channel = alice.post("/channels", json={"name": "room"}).json()
    response = alice.post(f"/channels/{channel['id']}/members", json={"user_id": new_user_id("ghost")})
    assert response.status_code == 404 and "user" in _error(response)["message"]


def test_leave_removes_the_channel_and_its_messages_from_the_member(api) -> None:
    alice, bob_id = api(new_user_id("alice")), new_user_id("bob")
    bob = api(bob_id)
    channel = alice.post("/channels", json={"name": "room"}).json()
    bob.post(f"/channels/{channel['id']}/join")
    assert bob.post(f"/channels/{channel['id']}/leave").status_code == 204
    assert channel["id"] not in {c["id"] for c in bob.get("/channels").json()["channels"]}
    assert bob.get(f"/channels/{channel['id']}/messages").status_code == 404


def test_unread_counts_follow_new_messages_and_reading(api) -> None:
    alice, bob = api(new_user_id("alice")), api(new_user_id("bob"))
    channel = alice.post("/channels", json={"name": "room"}).json()
    bob.post(f"/channels/{channel['id']}/join")
    for n in range(3):
        alice.post(
            f"/channels/{channel['id']}/messages", json={"body": f"m{n}", "client_msg_id": new_user_id()}
        )

    def unread(client) -> int:
        return next(
            c["unread"] for c in client.get("/channels").json()["channels"] if c["id"] == channel["id"]
        )

    assert unread(bob) == 3 and unread(alice) == 0
    bob.get(f"/channels/{channel['id']}/messages")
    assert unread(bob) == 0


def test_channel_name_is_validated_with_the_error_body(api) -> None:
    response = api(new_user_id("alice")).post("/channels", json={"name": ""})
    assert response.status_code == 422
    assert _error(response)["code"] == "invalid_request"
