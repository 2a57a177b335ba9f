"""Replica CPU that the notification outbox drain spends per stored message, measured in process.

Runs `relay.services.notifications.for_message` (what the drain runs per message, in one session
and transaction) against a fresh migrated database with one channel of --members members at the
default level, for plain messages, a message with one mention, and `@channel`; then again with one
member at level `all`. Reports this process's CPU per message and per channel member (the fan-out
benchmark's "per delivery") and the wall time; Postgres's own CPU is not counted.

    .venv/bin/python -m loadtests.bench_notifications [--members 200] [--messages 2000]
"""

import argparse
import asyncio
import time
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from loadtests.bench_search import create_database, drop_database, scratch_settings
from relay.db.migrate import migrate
from relay.services import notifications

CHANNEL = "bench-channel"


async def _nobody_online(_user_ids: list[str]) -> set[str]:
    return set()


async def populate(sessions: async_sessionmaker[AsyncSession], members: int) -> list[str]:
    """One channel; its first member is the author of every message."""
    user_ids = [f"member-{n:04d}" for n in range(members)]
    async with sessions() as session:
        await session.execute(
            text("INSERT INTO users (id, name) VALUES (:id, :id)"), [{"id": u} for u in user_ids]
        )
        await session.execute(
            text("INSERT INTO channels (id, name, kind, created_by) VALUES (:c, 'bench', 'channel', :u)"),
            {"c": CHANNEL, "u": user_ids[0]},
        )
        await session.execute(
            text("INSERT INTO memberships (channel_id, user_id) VALUES (:c, :u)"),
            [{"c": CHANNEL, "u": u} for u in user_ids],
        )
        await session.commit()
    return user_ids


async def post(session: AsyncSession, author: str, body: str, seq: int) -> dict:
    message = {
        "id": uuid.uuid4().hex,
        "channel_id": CHANNEL,
        "author_id": author,
        "body": body,
        "parent_id": None,
    }
    await session.execute(
        text(
            "INSERT INTO messages (id, channel_id, seq, author_id, body, client_msg_id) "
            "VALUES (:id, :channel_id, :seq, :author_id, :body, :id)"
        ),
        {**message, "seq": seq},
    )
    return message


async def measure(
    sessions: async_sessionmaker[AsyncSession], author: str, body: str, count: int, first_seq: int
) -> tuple[float, float]:
    """(CPU µs, wall µs) per message; the messages are stored first, outside the measurement."""
    async with sessions() as session:
        batch = [await post(session, author, body, first_seq + n) for n in range(count)]
        await session.commit()
    cpu, wall = time.process_time(), time.perf_counter()
    for message in batch:
        async with sessions() as session:
            await notifications.for_message(session, message, _nobody_online)
            await session.commit()
    return (time.process_time() - cpu) / count * 1e6, (time.perf_counter() - wall) / count * 1e6


async def run(members: int, messages: int) -> str:
    database = await create_database()
    engine = None
    try:
        settings = scratch_settings(database)
        await migrate(settings)
        engine = create_async_engine(settings.database_url, pool_size=1)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        user_ids = await populate(sessions, members)
        author, seq = user_ids[0], 1
        cases = {"plain": "hello all", "one mention": f"hi @{user_ids[1]}", "@channel": "@channel look"}
        lines = [f"{members} members, {messages} messages per case (mentions and @channel: a tenth of that)"]
        lines.append(
            f"{'levels':22} {'message':12} {'CPU µs/msg':>11} {'CPU µs/member':>14} {'wall µs/msg':>12}"
        )
        for levels in ("all at the default", "one at level all"):
            if levels == "one at level all":
                async with sessions() as session:
                    await session.execute(
                        text("UPDATE memberships SET notify_level = 'all' WHERE user_id = :u"),
                        {"u": user_ids[-1]},
                    )
                    await session.commit()
            for case, body in cases.items():
                count = messages if case == "plain" else max(messages // 10, 1)
                await measure(sessions, author, body, min(count, 50), seq)  # warm-up
                seq += min(count, 50)
                cpu, wall = await measure(sessions, author, body, count, seq)
                seq += count
                lines.append(f"{levels:22} {case:12} {cpu:11.0f} {cpu / members:14.2f} {wall:12.0f}")
        return "\n".join(lines)
    finally:
        if engine is not None:
            await engine.dispose()
        await drop_database(database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    print(asyncio.run(run(args.members, args.messages)))


if __name__ == "__main__":
    main()
