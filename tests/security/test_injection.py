"""Injection and odd text in every stored text field: stored verbatim and returned as JSON, never
rendered or interpreted; what Postgres cannot hold (NUL, lone surrogates) is a 4xx with a reason.

Fields: channel names, message bodies (create and edit), status text and emoji, and user names
(from the session token's `name` claim, shown to others by the user lookup).
"""

import itertools
import json
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.security.conftest import CLIENT_TIMEOUT
from tests.utils.tokens import new_user_id
from topology import Topology

# Each client its own loopback address, so no test shares a per-IP budget with another.
SOURCES = (f"127.0.5.{n}" for n in itertools.count(1))
HOSTILE = {
    "sql quote": "'; DROP TABLE messages; --",
    "sql boolean": '" OR 1=1 -- \\',
    "like wildcards": "%_\\%",
    "tsquery operators": "a & !b | (c:* <-> d)",
    "script tag": "<script>alert(document.cookie)</script>",
    "event handler": '<img src=x onerror="alert(1)">',
    "template": "{{7*7}} ${7*7} <%= 7*7 %>",
    "rtl override": "abc\u202egpj.exe",
    "zero width": "a\u200bb\u200c\u200dc\ufeff",
    "astral and combining": "👩🏽‍💻 e\u0301\u0301",
}
CASES = list(HOSTILE)


@pytest.fixture
def client_for(topology: Topology, mint: Callable[..., str]) -> Iterator[Callable[..., httpx.Client]]:
    """`client_for(user_id, **claims)`: an HTTPS client of the load balancer as that user (each test
    has users of its own, so no test shares a per-user budget either)."""
    clients: list[httpx.Client] = []

    def make(user_id: str, **claims: object) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=next(SOURCES), verify=topology.ssl_context())
        client = httpx.Client(
            base_url=f"{topology.url}/api",
            transport=transport,
            timeout=CLIENT_TIMEOUT,
            headers={"Authorization": f"Bearer {mint(user_id, **claims)}"},
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def author(client_for) -> httpx.Client:
    return client_for(new_user_id("author"))


@pytest.fixture
def channel_id(author: httpx.Client) -> str:
    return author.post("/channels", json={"name": f"injection-{uuid.uuid4().hex[:8]}"}).json()["id"]


def assert_json(response: httpx.Response) -> None:
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"


def post(author: httpx.Client, channel_id: str, body: str) -> httpx.Response:
    return author.post(
        f"/channels/{channel_id}/messages", json={"body": body, "client_msg_id": uuid.uuid4().hex}
    )


def stored_bodies(author: httpx.Client, channel_id: str) -> list[str]:
    response = author.get(f"/channels/{channel_id}/messages", params={"limit": 200})
    assert_json(response)
    return [message["body"] for message in response.json()["messages"]]


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_message_body_is_stored_and_returned_verbatim(author, channel_id, case) -> None:
    created = post(author, channel_id, HOSTILE[case])
    assert created.status_code == 201, created.text
    assert_json(created)
    assert created.json()["body"] == HOSTILE[case]
    assert HOSTILE[case] in stored_bodies(author, channel_id)


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_channel_name_is_stored_and_returned_verbatim(author, case) -> None:
    name = f"{HOSTILE[case]} {uuid.uuid4().hex[:6]}"
    created = author.post("/channels", json={"name": name})
    assert created.status_code == 201, created.text
    listed = author.get("/channels")
    assert_json(listed)
    assert name in [channel["name"] for channel in listed.json()["channels"]]


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_status_text_and_emoji_are_stored_and_returned_verbatim(client_for, case) -> None:
    user = client_for(new_user_id("status"))
    emoji = HOSTILE[case][:64]
    assert (
        user.put("/me/status", json={"status": "away", "text": HOSTILE[case], "emoji": emoji}).status_code
        == 200
    )
    me = user.get("/me")
    assert_json(me)
    assert (me.json()["text"], me.json()["emoji"]) == (HOSTILE[case], emoji)


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_user_name_from_the_token_is_shown_to_others_verbatim(client_for, author, case) -> None:
    user_id = new_user_id("named")
    assert client_for(user_id, name=HOSTILE[case]).get("/me").json()["name"] == HOSTILE[case]
    found = author.get("/users", params={"q": user_id})
    assert_json(found)
    assert [(u["id"], u["name"]) for u in found.json()["users"]] == [(user_id, HOSTILE[case])]


def test_like_wildcards_in_the_user_lookup_match_only_themselves(client_for, author) -> None:
    client_for(new_user_id("plain")).get("/me")
    found = author.get("/users", params={"q": "%"}).json()["users"]
    assert all("%" in user["id"] or "%" in user["name"] for user in found)


def test_a_message_edited_to_hostile_text_is_stored_verbatim(author, channel_id) -> None:
    message = post(author, channel_id, "plain").json()
    edited = author.patch(
        f"/channels/{channel_id}/messages/{message['id']}", json={"body": HOSTILE["script tag"]}
    )
    assert edited.status_code == 200
    assert edited.json()["body"] == HOSTILE["script tag"]


def raw_json_post(author: httpx.Client, path: str, text: str) -> httpx.Response:
    """JSON with escapes the encoder would never write (a lone surrogate, a NUL)."""
    return author.post(path, content=text.encode(), headers={"content-type": "application/json"})


def assert_refused_with_reason(response: httpx.Response) -> None:
    assert response.status_code in (400, 422), response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800", "\\udfff", "a\\ud83d"])
def test_a_message_body_postgres_cannot_hold_is_refused_with_a_reason(author, channel_id, escape) -> None:
    text = f'{{"body": "x{escape}", "client_msg_id": "{uuid.uuid4().hex}"}}'
    assert_refused_with_reason(raw_json_post(author, f"/channels/{channel_id}/messages", text))


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"])
def test_a_channel_name_postgres_cannot_hold_is_refused_with_a_reason(author, escape) -> None:
    assert_refused_with_reason(raw_json_post(author, "/channels", f'{{"name": "x{escape}"}}'))


def test_a_status_text_with_a_lone_surrogate_is_refused_with_a_reason(author) -> None:
    response = author.put(
        "/me/status",
        content=b'{"status": "away", "text": "\\udc00"}',
        headers={"content-type": "application/json"},
    )
    assert_refused_with_reason(response)


@pytest.mark.parametrize("character", ["a", "é", "👩", "\u200b"])
def test_a_message_of_exactly_4000_characters_is_accepted_whatever_their_width(
    author, channel_id, character
) -> None:
    created = post(author, channel_id, character * 4000)
    assert created.status_code == 201, created.text[:300]
    assert created.json()["body"] == character * 4000


@pytest.mark.parametrize("character", ["a", "👩"])
def test_a_message_of_4001_characters_is_refused_with_a_reason(author, channel_id, character) -> None:
    assert_refused_with_reason(post(author, channel_id, character * 4001))


def test_a_json_body_that_is_not_an_object_is_refused_with_a_reason(author, channel_id) -> None:
    for text in ("[]", '"body"', "null", "{", json.dumps({"body": ["x"], "client_msg_id": "c"})):
        assert_refused_with_reason(raw_json_post(author, f"/channels/{channel_id}/messages", text))
