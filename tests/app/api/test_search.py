"""GET /api/search: query forms, visibility, filters, cursor pagination and safe snippets."""

import time
import uuid
from datetime import UTC, datetime

import pytest

from tests.utils.tokens import new_user_id


def _word() -> str:
    """A word no other test uses: tests share one database."""
    return "zq" + uuid.uuid4().hex[:10]


def _post(client, channel_id: str, body: str) -> dict:
    response = client.post(
        f"/channels/{channel_id}/messages", json={"body": body, "client_msg_id": new_user_id("cm")}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _search(client, q: str, **params) -> dict:
    response = client.get("/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


def _bodies(page: dict) -> list[str]:
    return [result["message"]["body"] for result in page["results"]]


@pytest.fixture
def room(api):
    alice, bob = api(new_user_id("alice")), api(new_user_id("bob"))
    channel = alice.post("/channels", json={"name": "search"}).json()
    bob.post(f"/channels/{channel['id']}/join")
    return alice, bob, channel["id"]


def test_words_phrases_or_and_minus_newest_first(room) -> None:
    alice, _bob, channel_id = room
    red, blue = _word(), _word()
    _post(alice, channel_id, f"{red} apple pie")
    _post(alice, channel_id, f"pie apple {red}")
    _post(alice, channel_id, f"{blue} apple")
    assert _bodies(_search(alice, red)) == [f"pie apple {red}", f"{red} apple pie"]
    assert _bodies(_search(alice, f'"{red} apple"')) == [f"{red} apple pie"]
    assert _bodies(_search(alice, f"{red} or {blue}")) == [
        f"{blue} apple",
        f"pie apple {red}",
        f"{red} apple pie",
    ]
    assert _bodies(_search(alice, f"apple -{red} {blue}")) == [f"{blue} apple"]
    assert _bodies(_search(alice, f"{red} {blue}")) == []


def test_only_channels_the_caller_belongs_to_are_searched(room, api) -> None:
    alice, bob, channel_id = room
    secret = _word()
    _post(alice, channel_id, f"{secret} shared")
    private = alice.post("/channels", json={"name": "mine", "private": True}).json()
    _post(alice, private["id"], f"{secret} private")
    assert _bodies(_search(alice, secret)) == [f"{secret} private", f"{secret} shared"]
    assert _bodies(_search(bob, secret)) == [f"{secret} shared"]
    assert _bodies(_search(api(new_user_id("mallory")), secret)) == []
    assert _search(bob, secret, channel_id=private["id"])["results"] == []


def test_from_before_and_channel_filters(room) -> None:
    alice, bob, channel_id = room
    word = _word()
    _post(alice, channel_id, f"{word} early")
    time.sleep(0.05)
    cut = datetime.now(UTC).isoformat()
    _post(bob, channel_id, f"{word} late")
    other = alice.post("/channels", json={"name": "other"}).json()
    _post(alice, other["id"], f"{word} elsewhere")
    assert _bodies(_search(alice, word, **{"from": bob.get("/me").json()["id"]})) == [f"{word} late"]
    assert _bodies(_search(alice, word, before=cut)) == [f"{word} early"]
    assert _bodies(_search(alice, word, channel_id=other["id"])) == [f"{word} elsewhere"]


def test_cursor_pages_through_every_result_once(room) -> None:
    alice, _bob, channel_id = room
    word = _word()
    for n in range(5):
        _post(alice, channel_id, f"{word} number{n}")
    seen, cursor, pages = [], None, 0
    while True:
        page = _search(alice, word, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += _bodies(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"{word} number{n}" for n in reversed(range(5))]
    assert pages == 3


def test_deleted_messages_are_not_found(room) -> None:
    alice, _bob, channel_id = room
    word = _word()
    message = _post(alice, channel_id, f"{word} oops")
    alice.delete(f"/channels/{channel_id}/messages/{message['id']}")
    assert _search(alice, word)["results"] == []


def test_snippets_escape_the_authors_html_and_mark_matches(room) -> None:
    alice, _bob, channel_id = room
    word = _word()
    _post(alice, channel_id, f'<img src=x onerror="alert(1)"> {word} <script>x()</script> 1 & 2 \x01fake\x02')
    [result] = _search(alice, word)["results"]
    snippet = result["snippet"]
    assert f"<mark>{word}</mark>" in snippet
    assert "<img" not in snippet and "<script" not in snippet
    assert "&amp;" in snippet
    assert "<" not in snippet.replace("<mark>", "").replace("</mark>", "")
    assert snippet.count("<mark>") == 1 and "\x01" not in snippet


@pytest.mark.parametrize(
    "query",
    [
        "'",
        '"',
        '"unclosed',
        "&|!():*",
        "-",
        "or",
        "<->",
        "\\",
        "a & | b",
        "'); DROP TABLE messages; --",
        "é" * 256,
    ],
)
def test_raw_input_never_errors(room, query) -> None:
    alice, _bob, _channel_id = room
    assert _search(alice, query)["next_cursor"] is None


def test_bad_parameters_are_422_with_the_error_body(room) -> None:
    alice, _bob, _channel_id = room
    for params in (
        {"q": "x", "cursor": "not-a-cursor"},
        {"q": "x", "limit": 0},
        {"q": ""},
        {"q": "x", "before": "soon"},
    ):
        response = alice.get("/search", params=params)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] in {"invalid_cursor", "invalid_request"}
    document = alice.get("/openapi.json").json()
    assert document["paths"]["/api/search"]["get"]["responses"]["422"]["content"]["application/json"]
