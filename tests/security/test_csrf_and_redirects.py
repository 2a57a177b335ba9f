"""Cross-site requests riding the session cookie (finding 6), redirects built from a client-chosen
Host (finding 8) and a private channel's existence leaking through idempotency (finding 7)."""

import httpx
import pytest

from tests.security.attacks import ANSWER_WITHIN
from tests.utils.tokens import ORIGIN, new_user_id

EVIL = "https://evil.example"


@pytest.fixture
def victim(relay_server, signing_keys, api):
    """(cookie-only client of the victim, a public channel the victim is not in yet)."""
    owner = api(new_user_id("owner"))
    channel_id = owner.post("/channels", json={"name": "target"}).json()["id"]
    cookie = {"__session": signing_keys.mint(new_user_id("victim"))}
    with httpx.Client(base_url=f"{relay_server.url}/api", cookies=cookie, timeout=ANSWER_WITHIN) as client:
        yield client, channel_id


def assert_forbidden(response: httpx.Response) -> None:
    assert response.status_code == 403, (response.status_code, response.text)
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert "Origin" in error["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {},
        {"Origin": "null"},
        {"Origin": f"{ORIGIN}.evil.example"},
        {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
    ids=[
        "foreign_origin",
        "no_origin",
        "null_origin",
        "lookalike_origin",
        "cross_site_fetch",
        "same_site_fetch",
    ],
)
def test_cookie_only_join_from_outside_our_origins_is_403(headers, victim) -> None:
    client, channel_id = victim
    assert_forbidden(client.post(f"/channels/{channel_id}/join", headers=headers))
    assert channel_id not in {channel["id"] for channel in client.get("/channels").json()["channels"]}


def test_cookie_only_leave_from_a_foreign_origin_is_403(victim) -> None:
    client, channel_id = victim
    assert client.post(f"/channels/{channel_id}/join", headers={"Origin": ORIGIN}).status_code == 200
    assert_forbidden(client.post(f"/channels/{channel_id}/leave", headers={"Origin": EVIL}))


def test_cookie_only_message_post_from_a_foreign_origin_is_403(victim) -> None:
    client, channel_id = victim
    assert client.post(f"/channels/{channel_id}/join", headers={"Origin": ORIGIN}).status_code == 200
    response = client.post(
        f"/channels/{channel_id}/messages",
        json={"body": "pwned", "client_msg_id": "x"},
        headers={"Origin": EVIL},
    )
    assert_forbidden(response)
    assert client.get(f"/channels/{channel_id}/messages").json()["messages"] == []


def test_cookie_only_status_change_from_a_foreign_origin_is_403(victim) -> None:
    client, _channel_id = victim
    assert_forbidden(client.put("/me/status", json={"status": "dnd"}, headers={"Origin": EVIL}))


def test_cookie_only_channel_creation_from_a_foreign_origin_is_403(victim) -> None:
    client, _channel_id = victim
    assert_forbidden(client.post("/channels", json={"name": "csrf"}, headers={"Origin": EVIL}))


def test_cookie_only_join_from_our_origin_succeeds(victim) -> None:
    client, channel_id = victim
    assert client.post(f"/channels/{channel_id}/join", headers={"Origin": ORIGIN}).status_code == 200


def test_cookie_only_join_marked_same_origin_by_the_browser_succeeds(victim) -> None:
    client, channel_id = victim
    response = client.post(f"/channels/{channel_id}/join", headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 200


def test_cookie_only_read_from_a_foreign_origin_is_not_a_state_change(victim) -> None:
    client, _channel_id = victim
    assert client.get("/me", headers={"Origin": EVIL}).status_code == 200


def test_bearer_request_from_a_foreign_origin_is_unaffected(api) -> None:
    client = api(new_user_id("bearer"))
    response = client.post("/channels", json={"name": "by-bearer"}, headers={"Origin": EVIL})
    assert response.status_code == 201


@pytest.mark.parametrize("path", ["/api/channels/", "/api/me/", "/api/channels/abc/messages/"])
def test_trailing_slash_with_a_foreign_host_is_404_not_a_redirect(path, relay_server) -> None:
    response = httpx.get(
        f"{relay_server.url}{path}",
        headers={"Host": "evil.example"},
        follow_redirects=False,
        timeout=ANSWER_WITHIN,
    )
    assert response.status_code == 404, (response.status_code, response.headers.get("location"))
    assert "location" not in response.headers
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("host", ["evil.example", "evil.example/x?", "127.0.0.1@evil.example"])
def test_no_response_redirects_to_a_client_chosen_host(host, relay_server) -> None:
    for path in ("/api/channels/", "/api/", "/api", "//evil.example/api/channels", "/api/socketio"):
        response = httpx.get(
            f"{relay_server.url}{path}", headers={"Host": host}, follow_redirects=False, timeout=ANSWER_WITHIN
        )
        assert "evil.example" not in response.headers.get("location", ""), (path, response.headers)


def test_reused_client_msg_id_against_a_private_channel_answers_like_an_unknown_one(api) -> None:
    """Finding 7 over the wire: a 409 for an existing private channel would confirm it exists."""
    owner, prober = api(new_user_id("owner")), api(new_user_id("prober"))
    secret = owner.post("/channels", json={"name": "secret", "private": True}).json()["id"]
    mine = prober.post("/channels", json={"name": "mine"}).json()["id"]
    body = {"body": "probe", "client_msg_id": "reused"}
    assert prober.post(f"/channels/{mine}/messages", json=body).status_code == 201
    private = prober.post(f"/channels/{secret}/messages", json=body)
    unknown = prober.post("/channels/ffffffffffffffffffffffffffffffff/messages", json=body)
    assert unknown.json()["error"]["message"] == unknown_message("ffffffffffffffffffffffffffffffff")
    assert (private.status_code, unknown.status_code) == (404, 404)
    assert private.json()["error"] == {**unknown.json()["error"], "message": unknown_message(secret)}


def unknown_message(channel_id: str) -> str:
    return f"channel {channel_id} not found (or you are not a member)"
