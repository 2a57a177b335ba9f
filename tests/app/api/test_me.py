"""GET /api/me, PUT /api/me/status and GET /api/users."""

from tests.utils.tokens import new_user_id


def test_first_request_creates_the_user_from_the_token(api) -> None:
    user_id = new_user_id("alice")
    me = api(user_id).get("/me")
    assert me.status_code == 200
    assert me.json() == {
        "id": user_id,
        "name": user_id.title(),
        "status": "online",
        "text": None,
        "emoji": None,
    }


def test_status_is_stored(api) -> None:
    client = api(new_user_id("alice"))
    response = client.put("/me/status", json={"status": "dnd", "text": "focus", "emoji": ":no_bell:"})
    assert response.status_code == 200
    assert client.get("/me").json()["status"] == "dnd"
    assert client.get("/me").json()["text"] == "focus"


def test_unknown_status_is_422(api) -> None:
    response = api(new_user_id("alice")).put("/me/status", json={"status": "asleep"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_user_lookup_shows_offline_without_a_live_socket(api) -> None:
    target = new_user_id("zed")
    api(target).put("/me/status", json={"status": "away"})
    found = api(new_user_id("alice")).get("/users", params={"q": target}).json()["users"]
    assert found == [{"id": target, "name": target.title(), "status": "offline"}]
