"""A small run of loadtests/bench_search.py: the corpus loads, the GIN index serves rare words, and
the service's query returns exactly the newest matches from the caller's channels (no timing)."""

import random

import pytest

from loadtests import bench_search

MESSAGES = 20_000


@pytest.fixture(scope="module")
async def bench():
    database = await bench_search.create_database()
    connection = None
    try:
        connection, corpus, _seconds = await bench_search.prepare(database, MESSAGES, seed=3)
        yield connection, corpus
    finally:
        if connection is not None:
            await connection.close()
        await bench_search.drop_database(database)


async def test_corpus_has_the_planned_shape(bench) -> None:
    connection, corpus = bench
    assert abs(await connection.fetchval("SELECT count(*) FROM messages") - MESSAGES) < 100
    assert await connection.fetchval("SELECT count(*) FROM channels") == bench_search.CHANNELS
    sizes = await connection.fetch("SELECT count(*) AS n FROM memberships GROUP BY channel_id")
    counts = [row["n"] for row in sizes]
    assert min(counts) >= 2
    assert max(counts) <= 501  # 500 members, plus the caller
    mine = "SELECT count(*) FROM memberships WHERE user_id = $1"
    assert await connection.fetchval(mine, corpus.caller) == bench_search.CALLER_CHANNELS
    assert len(corpus.top_words) == 100
    assert corpus.top_words[0] == "the"


async def test_rare_words_are_found_through_the_gin_index(bench) -> None:
    connection, corpus = bench
    plan = await bench_search.explain(connection, corpus, corpus.top_words[-1])
    assert "messages_search" in plan, plan


async def _expected(connection, corpus, words: list[str]) -> list[str]:
    rows = await connection.fetch(
        "SELECT m.id, m.body FROM messages m JOIN memberships mb ON mb.channel_id = m.channel_id "
        "WHERE mb.user_id = $1 ORDER BY m.created_at DESC, m.id DESC",
        corpus.caller,
    )
    found = [row["id"] for row in rows if set(words) <= set(row["body"].split())]
    return found[: bench_search.LIMIT]


async def test_the_services_query_returns_the_newest_matches_in_the_callers_channels(bench) -> None:
    connection, corpus = bench
    rng = random.Random(5)
    for query in [corpus.top_words[0], corpus.top_words[-1], *rng.sample(corpus.words[100:2000], 5)]:
        rows = await connection.fetch(
            bench_search.sql("recency"), query, corpus.caller, bench_search.LIMIT, "MaxFragments=1"
        )
        assert [row["id"] for row in rows] == await _expected(connection, corpus, [query]), query
    pair = f"{corpus.top_words[1]} {corpus.top_words[2]}"
    rows = await connection.fetch(bench_search.sql("recency"), pair, corpus.caller, bench_search.LIMIT, "")
    assert [row["id"] for row in rows] == await _expected(connection, corpus, pair.split())
