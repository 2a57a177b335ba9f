"""Search latency on a realistic corpus: GET /api/search's own SQL against the ILIKE baseline.

Loads N messages (default 1,000,000) into a fresh database migrated to head: Zipf-like words
(s = 1.07 over a 40,000-word vocabulary whose top ranks are common English words), 1,000
channels of 2 to 500 members (log-uniform) with messages in proportion to members, and a caller
who belongs to 50 channels. Rows go in with COPY, with the two text indexes dropped during the load
and rebuilt afterwards with the migrations' definitions. Then, warm cache, `limit` 20, it reports
p50/p95 per query class (one word, two words, "a phrase"; the 100 most frequent words are among the
one- and two-word queries) for the service's query (newest first), the same match ordered by
ts_rank, and the ILIKE baseline, each the median of --runs runs with the spread, plus EXPLAIN.

    .venv/bin/python -m loadtests.bench_search [--messages 1000000] [--runs 3] [--keep]

Outside `make test` (minutes); tests/loadtests/test_bench_search.py runs a small version.
"""

import argparse
import asyncio
import itertools
import os
import random
import statistics
import string
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from relay.db.migrate import migrate
from relay.services.search import HEADLINE_OPTIONS, search_statement
from relay.settings import Settings

ADMIN_DSN = os.environ.get("RELAY_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
COMMON = (  # noqa: SIM905 (a sentence-like block reads better than a list of 120 literals)
    "the to and a i of you is it in that for we on this be have are with not was do at can but so just "
    "will if what my me all get from about no your there up out they as like one know think now how "
    "an or time good yes by new deploy fix build test release review merge branch today please thanks "
    "check issue bug update meeting tomorrow need see work team look done make go want more some when "
    "here would could should got let back still also then well really"
).split()
VOCABULARY = 40_000
ZIPF_S = 1.07
CHANNELS, CALLER_CHANNELS, USERS = 1_000, 50, 5_000
LIMIT = 20
ILIKE_QUERIES = 12  # per class: a sequential read each, seconds at 1M rows


def vocabulary(rng: random.Random) -> list[str]:
    words, seen = list(dict.fromkeys(COMMON)), set(COMMON)
    while len(words) < VOCABULARY:
        word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 10)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


@dataclass
class Corpus:
    words: list[str]
    caller: str
    caller_channels: list[str]
    channel_members: dict[str, list[str]]
    messages_per_channel: dict[str, int]
    top_words: list[str] = field(default_factory=list)


def plan_corpus(messages: int, seed: int) -> Corpus:
    rng = random.Random(seed)  # noqa: S311 (a reproducible corpus, not a secret)
    users = [f"u{n:05d}" for n in range(USERS)]
    channel_members: dict[str, list[str]] = {}
    for n in range(CHANNELS):
        size = round(2 * (250 ** rng.random()))  # log-uniform in [2, 500]
        channel_members[f"c{n:04d}"] = rng.sample(users, max(2, min(size, 500)))
    caller = "bench-caller"
    caller_channels = rng.sample(sorted(channel_members), CALLER_CHANNELS)
    for channel in caller_channels:
        channel_members[channel].append(caller)
    total_members = sum(len(members) for members in channel_members.values())
    per_channel = {
        channel: max(1, round(messages * len(members) / total_members))
        for channel, members in channel_members.items()
    }
    return Corpus(vocabulary(rng), caller, caller_channels, channel_members, per_channel)


def _message_rows(corpus: Corpus, seed: int):
    rng = random.Random(seed + 1)  # noqa: S311
    weights = list(itertools.accumulate(1 / (rank**ZIPF_S) for rank in range(1, len(corpus.words) + 1)))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for channel, count in corpus.messages_per_channel.items():
        members = corpus.channel_members[channel]
        picks = rng.choices(corpus.words, cum_weights=weights, k=count * 16)
        moments = sorted(rng.random() * 330 for _ in range(count))
        offset = 0
        for seq, day in enumerate(moments, 1):
            length = rng.randint(3, 30)
            body = " ".join(picks[offset : offset + length])
            offset = (offset + length) % (len(picks) - 30)
            yield (
                uuid.uuid4().hex,
                channel,
                seq,
                rng.choice(members),
                body,
                f"b{seq}-{channel}",
                start + timedelta(days=day),
            )


async def load(connection: asyncpg.Connection, corpus: Corpus, seed: int) -> float:
    """COPY everything in; returns seconds. Text indexes are rebuilt after the load, as in a restore."""
    began = time.perf_counter()
    users = {"u00000"} | {member for members in corpus.channel_members.values() for member in members}
    await connection.copy_records_to_table("users", records=[(u, u) for u in users], columns=["id", "name"])
    await connection.copy_records_to_table(
        "channels",
        records=[
            (c, c, "channel", False, corpus.messages_per_channel[c], "u00000") for c in corpus.channel_members
        ],
        columns=["id", "name", "kind", "private", "last_seq", "created_by"],
    )
    await connection.copy_records_to_table(
        "memberships",
        records=[(c, u) for c, members in corpus.channel_members.items() for u in members],
        columns=["channel_id", "user_id"],
    )
    indexes = await connection.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'messages' "
        "AND indexname IN ('messages_search', 'messages_created_at')"
    )
    for index in indexes:
        await connection.execute(f'DROP INDEX "{index["indexname"]}"')
    await connection.copy_records_to_table(
        "messages",
        records=_message_rows(corpus, seed),
        columns=["id", "channel_id", "seq", "author_id", "body", "client_msg_id", "created_at"],
    )
    await connection.execute("SET maintenance_work_mem = '512MB'")
    for index in indexes:
        await connection.execute(index["indexdef"])
    await connection.execute("VACUUM ANALYZE")
    return time.perf_counter() - began


async def top_words(connection: asyncpg.Connection, count: int = 100) -> list[str]:
    """The most frequent words the `simple` configuration indexes (from the index's own statistics)."""
    rows = await connection.fetch(
        "SELECT word FROM ts_stat('SELECT search FROM messages') ORDER BY ndoc DESC, word LIMIT $1", count
    )
    return [row["word"] for row in rows]


def queries(corpus: Corpus, rng: random.Random, per_class: int) -> dict[str, list[str]]:
    """Single words (the top 100 first), pairs, and phrases taken from the corpus' frequent words."""
    top = corpus.top_words
    others = corpus.words[100:5000]
    single = (top + rng.sample(others, per_class))[: max(per_class, len(top))]
    pairs = [f"{rng.choice(top)} {rng.choice(others)}" for _ in range(per_class // 2)]
    pairs += [f"{rng.choice(top)} {rng.choice(top)}" for _ in range(per_class - len(pairs))]
    phrases = [f'"{rng.choice(top)} {rng.choice(top)}"' for _ in range(per_class)]
    return {"one word": single, "two words": pairs, "phrase": phrases}


def sql(order: str) -> str:
    """The service's statement (relay.services.search) in asyncpg's $n form."""
    sql = str(search_statement({}))
    if order == "rank":
        sql = sql.replace(
            "ORDER BY m.created_at DESC, m.id DESC\n    LIMIT",
            "ORDER BY ts_rank(m.search, websearch_to_tsquery('simple', :q)) DESC\n    LIMIT",
        )
    return sql.replace(":q", "$1").replace(":user_id", "$2").replace(":limit", "$3").replace(":options", "$4")


ILIKE_SQL = """
SELECT m.id FROM messages m
WHERE {match} AND m.deleted_at IS NULL
  AND m.channel_id IN (SELECT mb.channel_id FROM memberships mb WHERE mb.user_id = $1)
ORDER BY m.created_at DESC, m.id DESC LIMIT {limit}
"""


def ilike_statement(query: str) -> tuple[str, list[str]]:
    terms = [query.strip('"')] if query.startswith('"') else query.split()
    match = " AND ".join(f"m.body ILIKE ${n + 2}" for n in range(len(terms)))
    return ILIKE_SQL.format(match=match, limit=LIMIT), [f"%{term}%" for term in terms]


async def time_queries(connection, corpus: Corpus, texts: list[str], kind: str) -> list[float]:
    samples = []
    for query in texts:
        began = time.perf_counter()
        if kind == "ilike":
            statement, args = ilike_statement(query)
            await connection.fetch(statement, corpus.caller, *args)
        else:
            await connection.fetch(sql(kind), query, corpus.caller, LIMIT, HEADLINE_OPTIONS)
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(connection, corpus: Corpus, classes: dict[str, list[str]], kinds: list[str], runs: int):
    """{(kind, class): (median p50, median p95, p95 spread)} over `runs` warm runs."""
    results = {}
    for kind in kinds:
        for name, texts in classes.items():
            # ILIKE reads every row it cannot rule out: an evenly spaced sample of the class.
            chosen = texts if kind != "ilike" else texts[:: max(1, len(texts) // ILIKE_QUERIES)]
            await time_queries(connection, corpus, chosen, kind)  # warm-up: cache and plans
            p50s, p95s = [], []
            for _ in range(runs):
                samples = await time_queries(connection, corpus, chosen, kind)
                p50s.append(percentile(samples, 0.50))
                p95s.append(percentile(samples, 0.95))
            results[(kind, name)] = (statistics.median(p50s), statistics.median(p95s), max(p95s) - min(p95s))
    return results


async def explain(connection, corpus: Corpus, query: str) -> str:
    rows = await connection.fetch(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql("recency"),
        query,
        corpus.caller,
        LIMIT,
        HEADLINE_OPTIONS,
    )
    return "\n".join(row[0] for row in rows)


async def create_database() -> str:
    name = f"relay_bench_search_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def dsn_for(database: str) -> str:
    return f"{ADMIN_DSN.rsplit('/', 1)[0]}/{database}"


def scratch_settings(database: str) -> Settings:
    """Service settings for a scratch database only (migrations and in-process benchmarks)."""
    return Settings(
        environment="local",
        database_url=dsn_for(database).replace("postgresql://", "postgresql+asyncpg://", 1),
        redis_url="redis://127.0.0.1:6379/0",
        s3_bucket="unused",
        auth_issuer="https://bench.invalid",
        auth_public_key="unused",
        allowed_origins="https://localhost:8443",
        public_url="https://localhost:8443",
    )


async def prepare(database: str, messages: int, seed: int) -> tuple[asyncpg.Connection, Corpus, float]:
    settings = scratch_settings(database)
    await migrate(settings)
    # As the service does per search (relay.services.search.CUSTOM_PLAN).
    connection = await asyncpg.connect(
        dsn_for(database), server_settings={"plan_cache_mode": "force_custom_plan"}
    )
    corpus = plan_corpus(messages, seed)
    seconds = await load(connection, corpus, seed)
    corpus.top_words = await top_words(connection)
    return connection, corpus, seconds


def report(results, loaded: int, seconds: float, runs: int) -> str:
    lines = [f"{loaded:,} messages loaded in {seconds:.0f} s; median of {runs} warm runs, limit {LIMIT}"]
    lines.append(f"{'query':10} {'class':10} {'p50 ms':>8} {'p95 ms':>8} {'p95 spread':>10}")
    for (kind, name), (p50, p95, spread) in results.items():
        lines.append(f"{kind:10} {name:10} {p50:8.1f} {p95:8.1f} {spread:10.1f}")
    for name in ("one word", "two words", "phrase"):
        if ("ilike", name) in results and ("recency", name) in results:
            ratio = results[("ilike", name)][1] / max(results[("recency", name)][1], 0.001)
            lines.append(f"ILIKE / full-text p95, {name}: {ratio:.0f}x")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    database = await create_database()
    try:
        connection, corpus, seconds = await prepare(database, args.messages, args.seed)
        try:
            loaded = await connection.fetchval("SELECT count(*) FROM messages")
            classes = queries(corpus, random.Random(args.seed + 2), args.per_class)  # noqa: S311
            results = await measure(connection, corpus, classes, ["recency", "rank", "ilike"], args.runs)
            print(report(results, loaded, seconds, args.runs))
            for query in (corpus.top_words[0], corpus.top_words[-1], classes["phrase"][0]):
                print(f"\nEXPLAIN {query!r}:\n{await explain(connection, corpus, query)}")
        finally:
            await connection.close()
    finally:
        if args.keep:
            print(f"kept database {database}")
        else:
            await drop_database(database)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-class", type=int, default=200, help="queries per class (default 200)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
