"""Search over the wire (issue 7): SQL and tsquery metacharacters, websearch syntax, NUL, broken
percent-escapes and very long input, sent to GET /api/search through haproxy, answer 200 or a 422
with a reason (never a 5xx: the suite's guards read every answer), and never return a message from
a channel the caller cannot read, although a private channel and a DM hold the very same text.
"""

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.security.conftest import client_through_haproxy
from tests.utils.tokens import new_user_id
from topology import Topology

HOSTILE_QUERIES = {
    "single quote": "'",
    "backslash": "\\",
    "tsquery operators": "&|!():*<->",
    "tsquery expression": "a & !b | (c:* <-> d)",
    "tsquery prefix and weight": "secret:*A & x:B",
    "sql comment": "x -- y",
    "statement separator": "x; DROP TABLE messages; --",
    "sql string break-out": "x' OR '1'='1",
    "dollar quoting": "$$ $tag$ x $tag$",
    "escape string": "E'\\\\x00' \\x27",
    "unbalanced double quote": '"unclosed phrase',
    "unbalanced parentheses": "((a) b))",
    "like wildcards": "%_%",
    "websearch syntax": '"a" -b or c',
    "only websearch operators": 'or - "" -',
    "rtl override": "\u202etxt.exe",
    "zero width characters": "a\u200bb\ufeff",
    "256 operators": "!" * 256,
    "256 characters of alternatives": ("a | " * 64)[:256],
}
REFUSED_QUERIES = {
    "nul": "a\x00b",
    "empty": "",
    "257 characters": "a" * 257,
    "10,000 characters": "x" * 10_000,
}
# Other parameters, as a client would send them (each with a plain q); None: 200 or 422 both fine.
HOSTILE_FILTERS = {
    "channel id with a quote": {"channel_id": "x' OR '1'='1"},
    "channel id with a nul": {"channel_id": "a\x00"},
    "author id with like wildcards": {"from": "%"},
    "before date with sql": {"before": "2024-01-01'; DROP TABLE messages; --"},
    "cursor of random bytes": {"cursor": "!!not-base64!!"},
    "cursor forged around sql": {"cursor": "MjAyNC0wMS0wMVQwMDowMDowMCswMDowMHwnIE9SIDE9MSAtLQ=="},
    "cursor with a bad date": {"cursor": "bm90LWEtZGF0ZXx4"},
    "negative limit": {"limit": "-1"},
    "limit with sql": {"limit": "1; DROP TABLE messages"},
    "huge limit": {"limit": str(2**70)},
}
# Percent-escapes the server must decode itself: invalid UTF-8 and an encoded lone surrogate.
RAW_QUERY_STRINGS = {
    "invalid utf-8": "q=%ff%fe",
    "encoded lone surrogate": "q=%ed%a0%80",
    "truncated escape": "q=a%2",
    "plus and escaped plus": "q=a+%2B+b",
}


@dataclass(frozen=True)
class Haystack:
    """The same hostile text in a public channel, a private channel and a DM of two other users."""

    word: str
    owner_token: str
    public_id: str
    hidden_ids: frozenset[str]


@pytest.fixture(scope="module")
def haystack(topology: Topology, mint: Callable[..., str]) -> Iterator[Haystack]:
    owner_id, peer_id = new_user_id("owner"), new_user_id("peer")
    with (
        client_through_haproxy(topology, mint(owner_id)) as owner,
        client_through_haproxy(topology, mint(peer_id)) as peer,
    ):
        assert peer.get("/me").status_code == 200  # a user exists once signed in
        word = "zq" + uuid.uuid4().hex[:12]
        body = " ".join([word, *HOSTILE_QUERIES.values()])[:4000]
        public = owner.post("/channels", json={"name": "public"}).json()["id"]
        private = owner.post("/channels", json={"name": "private", "private": True}).json()["id"]
        dm = owner.post("/dms", json={"user_ids": [peer_id]}).json()["id"]
        for channel_id in (public, private, dm):
            posted = owner.post(
                f"/channels/{channel_id}/messages", json={"body": body, "client_msg_id": uuid.uuid4().hex}
            )
            assert posted.status_code == 201, posted.text
        yield Haystack(word, mint(owner_id), public, frozenset({private, dm}))


@pytest.fixture
def searcher(topology: Topology, mint: Callable[..., str], haystack: Haystack) -> Iterator[httpx.Client]:
    """A user of the public channel only, with budgets of their own (user and address)."""
    with client_through_haproxy(topology, mint(new_user_id("searcher"))) as client:
        assert client.post(f"/channels/{haystack.public_id}/join").status_code == 200
        yield client


def assert_only_readable_results(response: httpx.Response, haystack: Haystack) -> None:
    assert response.status_code == 200, (response.status_code, response.text[:500])
    found = {result["message"]["channel_id"] for result in response.json()["results"]}
    assert found <= {haystack.public_id}, f"results from channels the searcher is not in: {found}"


def assert_refused_with_a_reason(response: httpx.Response) -> None:
    assert response.status_code == 422, (response.status_code, response.text[:500])
    error = response.json()["error"]
    assert error["code"] and error["message"], error


def test_the_owner_finds_every_copy_and_another_user_only_the_public_one(
    topology, haystack, searcher
) -> None:
    """The control: the hidden copies are in the index, so only membership keeps them out."""
    with client_through_haproxy(topology, haystack.owner_token) as owner:
        owned = owner.get("/search", params={"q": haystack.word}).json()["results"]
    assert {result["message"]["channel_id"] for result in owned} == {haystack.public_id, *haystack.hidden_ids}
    found = searcher.get("/search", params={"q": haystack.word}).json()["results"]
    assert [result["message"]["channel_id"] for result in found] == [haystack.public_id]


@pytest.mark.parametrize("case", list(HOSTILE_QUERIES))
def test_a_hostile_query_is_answered_with_only_readable_results(haystack, searcher, case) -> None:
    query = HOSTILE_QUERIES[case]
    assert_only_readable_results(searcher.get("/search", params={"q": query}), haystack)
    with_the_word = f"{haystack.word} {query}"[:256]  # a query may hold 256 characters
    assert_only_readable_results(searcher.get("/search", params={"q": with_the_word}), haystack)


@pytest.mark.parametrize("case", list(REFUSED_QUERIES))
def test_a_query_postgres_cannot_take_or_over_the_limit_is_refused_with_a_reason(searcher, case) -> None:
    assert_refused_with_a_reason(searcher.get("/search", params={"q": REFUSED_QUERIES[case]}))


@pytest.mark.parametrize("case", list(HOSTILE_FILTERS))
def test_a_hostile_filter_is_answered_200_or_422_with_only_readable_results(haystack, searcher, case) -> None:
    response = searcher.get("/search", params={"q": haystack.word, **HOSTILE_FILTERS[case]})
    if response.status_code == 422:
        assert_refused_with_a_reason(response)
    else:
        assert_only_readable_results(response, haystack)


@pytest.mark.parametrize("case", list(RAW_QUERY_STRINGS))
def test_a_broken_percent_escape_is_answered_with_only_readable_results(haystack, searcher, case) -> None:
    response = searcher.get(f"/search?{RAW_QUERY_STRINGS[case]}")
    if response.status_code == 422:
        assert_refused_with_a_reason(response)
    else:
        assert_only_readable_results(response, haystack)
