"""Messages over REST: post, idempotent retry, pagination (DESIGN §4a), edit/delete, limits, 404s."""

import pytest

from tests.utils.tokens import new_user_id


@pytest.fixture
def room(api):
    """(alice client, bob client, channel id) with both as members."""
    alice, bob = api(new_user_id("alice")), api(new_user_id("bob"))
    channel = alice.post("/channels", json={"name": "room"}).json()
    bob.post(f"/channels/{channel['id']}/join")
    return alice, bob, channel["id"]


def _post(client, channel_id: str, body: str, client_msg_id: str | None = None, **extra):
    payload = {"body": body, "client_msg_id": client_msg_id or new_user_id("cm"), **extra}
    return client.post(f"/channels/{channel_id}/messages", json=payload)


def test_posted_message_has_the_contract_shape_and_increasing_seq(room) -> None:
    alice, _bob, channel_id = room
    first, second = _post(alice, channel_id, "one"), _post(alice, channel_id, "two")
    assert first.status_code == second.status_code == 201
    message = first.json()
    assert set(message) == {
        "id",
        "channel_id",
        "seq",
        "author_id",
        "body",
        "client_msg_id",
        "parent_id",
        "attachments",
        "created_at",
        "edited_at",
        "deleted_at",
    }
    assert (message["seq"], second.json()["seq"]) == (1, 2)
    assert message["created_at"].endswith("Z")


def test_retried_client_msg_id_returns_the_original_with_200(room) -> None:
    alice, bob, channel_id = room
    first = _post(alice, channel_id, "hello", "retry-1")
    retried = _post(alice, channel_id, "hello again", "retry-1")
    assert (first.status_code, retried.status_code) == (201, 200)
    assert retried.json() == first.json()
    # another author may use the same client id: uniqueness is per sender
    assert _post(bob, channel_id, "mine", "retry-1").status_code == 201
    assert [m["seq"] for m in alice.get(f"/channels/{channel_id}/messages").json()["messages"]] == [1, 2]


def test_pagination_after_before_and_newest(room) -> None:
    alice, _bob, channel_id = room
    for n in range(1, 8):
        _post(alice, channel_id, f"m{n}")

    def seqs(**params) -> list[int]:
        response = alice.get(f"/channels/{channel_id}/messages", params=params)
        assert response.status_code == 200, response.text
        return [m["seq"] for m in response.json()["messages"]]

    assert seqs(limit=3) == [5, 6, 7]
    assert seqs(after=2, limit=3) == [3, 4, 5]
    assert seqs(before=5, limit=3) == [2, 3, 4]
    assert seqs(before=3) == [1, 2]
    assert seqs(after=7) == []
    assert seqs() == [1, 2, 3, 4, 5, 6, 7]


def test_page_limit_is_bounded(room) -> None:
    alice, _bob, channel_id = room
    response = alice.get(f"/channels/{channel_id}/messages", params={"limit": 201})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_empty_and_oversized_bodies_are_422_naming_the_limit(room) -> None:
    alice, _bob, channel_id = room
    empty, too_long = _post(alice, channel_id, "   "), _post(alice, channel_id, "x" * 4001)
    assert empty.status_code == too_long.status_code == 422
    assert "4000" in empty.json()["error"]["message"]
    assert "4000" in too_long.json()["error"]["message"]
    assert _post(alice, channel_id, "x" * 4000).status_code == 201


def test_replies_name_their_parent_in_the_same_channel(room, api) -> None:
    alice, bob, channel_id = room
    parent = _post(alice, channel_id, "question").json()
    reply = _post(bob, channel_id, "answer", parent_id=parent["id"])
    assert reply.status_code == 201 and reply.json()["parent_id"] == parent["id"]
    other = alice.post("/channels", json={"name": "elsewhere"}).json()
    assert _post(alice, other["id"], "x", parent_id=parent["id"]).status_code == 404


def test_author_edits_and_deletes_leaving_a_tombstone(room) -> None:
    alice, _bob, channel_id = room
    message = _post(alice, channel_id, "draft").json()
    url = f"/channels/{channel_id}/messages/{message['id']}"
    edited = alice.patch(url, json={"body": "final"})
    assert edited.status_code == 200
    assert edited.json()["body"] == "final" and edited.json()["edited_at"] is not None
    deleted = alice.delete(url)
    assert deleted.status_code == 200
    assert deleted.json()["body"] == "" and deleted.json()["deleted_at"] is not None
    history = alice.get(f"/channels/{channel_id}/messages").json()["messages"]
    assert [(m["seq"], m["body"]) for m in history] == [(1, "")]
    assert alice.patch(url, json={"body": "revive"}).status_code == 409


def test_only_the_author_edits_or_deletes(room) -> None:
    alice, bob, channel_id = room
    message = _post(alice, channel_id, "mine").json()
    url = f"/channels/{channel_id}/messages/{message['id']}"
    assert bob.patch(url, json={"body": "hijack"}).status_code == 403
    assert bob.delete(url).status_code == 403


def test_non_member_cannot_read_post_or_edit(room, api) -> None:
    alice, _bob, channel_id = room
    message = _post(alice, channel_id, "members only").json()
    mallory = api(new_user_id("mallory"))
    responses = [
        mallory.get(f"/channels/{channel_id}/messages"),
        _post(mallory, channel_id, "let me in"),
        mallory.patch(f"/channels/{channel_id}/messages/{message['id']}", json={"body": "x"}),
        mallory.delete(f"/channels/{channel_id}/messages/{message['id']}"),
    ]
    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert {r.json()["error"]["code"] for r in responses} == {"not_found"}


def test_reused_client_msg_id_does_not_reveal_a_private_channel(room, api) -> None:
    """Idempotency is looked up only after membership: a private channel answers like an unknown id."""
    alice, _bob, _channel_id = room
    mallory = api(new_user_id("mallory"))
    secret = alice.post("/channels", json={"name": "secret", "private": True}).json()
    mallory_room = mallory.post("/channels", json={"name": "mine"}).json()
    assert _post(mallory, mallory_room["id"], "first", "reused-1").status_code == 201
    private = _post(mallory, secret["id"], "probe", "reused-1")
    unknown = _post(mallory, "ffffffffffffffffffffffffffffffff", "probe", "reused-1")
    assert (private.status_code, unknown.status_code) == (404, 404)
    assert private.json()["error"]["code"] == unknown.json()["error"]["code"] == "not_found"


def test_unknown_ids_are_404(room) -> None:
    alice, _bob, channel_id = room
    assert alice.get("/channels/ffffffffffffffffffffffffffffffff/messages").status_code == 404
    assert alice.patch(f"/channels/{channel_id}/messages/ffff", json={"body": "x"}).status_code == 404


def test_malformed_json_is_400_with_the_error_body(room) -> None:
    alice, _bob, channel_id = room
    response = alice.post(
        f"/channels/{channel_id}/messages", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_oversize_request_body_is_413_with_the_error_body(room) -> None:
    alice, _bob, channel_id = room
    response = _post(alice, channel_id, "x" * 70_000)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_every_4xx_a_route_answers_is_declared_with_the_error_body(room) -> None:
    alice, _bob, _channel_id = room
    document = alice.get("/openapi.json").json()
    edit = document["paths"]["/api/channels/{channel_id}/messages/{message_id}"]["patch"]["responses"]
    for status in ("400", "401", "403", "404", "409", "413", "422", "429"):
        assert edit[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody"), status
