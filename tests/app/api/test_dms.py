"""POST /api/dms: one channel per member set, at most RELAY_MAX_DM_MEMBERS members, fixed membership."""

from tests.utils.tokens import new_user_id


def _signed_in(api, count: int) -> list[tuple[str, object]]:
    users = []
    for _ in range(count):
        user_id = new_user_id()
        client = api(user_id)
        client.get("/me")
        users.append((user_id, client))
    return users


def test_the_same_member_set_gets_the_same_dm(api) -> None:
    (alice_id, alice), (bob_id, bob) = _signed_in(api, 2)
    first = alice.post("/dms", json={"user_ids": [bob_id]})
    again = bob.post("/dms", json={"user_ids": [alice_id]})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["kind"] == "dm" and first.json()["private"] is True


def test_a_dm_is_invisible_to_others(api) -> None:
    (_alice_id, alice), (bob_id, _bob), (_mallory_id, mallory) = _signed_in(api, 3)
    dm = alice.post("/dms", json={"user_ids": [bob_id]}).json()
    alice.post(f"/channels/{dm['id']}/messages", json={"body": "psst", "client_msg_id": new_user_id()})
    assert mallory.get(f"/channels/{dm['id']}/messages").status_code == 404
    posted = mallory.post(
        f"/channels/{dm['id']}/messages", json={"body": "hi", "client_msg_id": new_user_id()}
    )
    assert posted.status_code == 404
    assert dm["id"] not in {c["id"] for c in mallory.get("/channels").json()["channels"]}


def test_dm_membership_is_fixed(api) -> None:
    (_alice_id, alice), (bob_id, _bob), (carol_id, _carol) = _signed_in(api, 3)
    dm = alice.post("/dms", json={"user_ids": [bob_id]}).json()
    assert alice.post(f"/channels/{dm['id']}/members", json={"user_id": carol_id}).status_code == 409
    assert alice.post(f"/channels/{dm['id']}/leave").status_code == 409


def test_group_dm_is_limited_to_the_setting(api) -> None:
    users = _signed_in(api, 9)
    _creator_id, creator = users[0]
    response = creator.post("/dms", json={"user_ids": [user_id for user_id, _ in users[1:]]})
    assert response.status_code == 422
    assert "8" in response.json()["error"]["message"]
    allowed = creator.post("/dms", json={"user_ids": [user_id for user_id, _ in users[1:8]]})
    assert allowed.status_code == 201


def test_dm_with_an_unknown_user_is_404(api) -> None:
    ((_alice_id, alice),) = _signed_in(api, 1)
    assert alice.post("/dms", json={"user_ids": [new_user_id("ghost")]}).status_code == 404
