"""MessageWriter: concurrent sends to one channel are grouped into few statements, in order, no holes."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from relay.services.message_writer import MessageWriter
from tests.utils.tokens import new_user_id


@pytest.fixture
async def channel(relay_env, postgres_db):
    """(sessions, channel id, member id) on the migrated test database, as the app role."""
    engine = create_async_engine(postgres_db.url())
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    member, channel_id = new_user_id("writer"), new_user_id("ch")[:32]
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO users (id, name) VALUES (:u, 'W')"), {"u": member})
        await connection.execute(
            text("INSERT INTO channels (id, name, kind, created_by) VALUES (:c, 'w', 'channel', :u)"),
            {"c": channel_id, "u": member},
        )
        await connection.execute(
            text("INSERT INTO memberships (channel_id, user_id) VALUES (:c, :u)"),
            {"c": channel_id, "u": member},
        )
    yield sessions, channel_id, member
    await engine.dispose()


def _item(author: str, n: int) -> dict:
    return {
        "id": f"{author[-10:]}{n:06d}",
        "author_id": author,
        "body": f"m{n}",
        "client_msg_id": f"c{n}",
        "parent_id": None,
    }


async def test_concurrent_sends_share_batches_and_keep_their_order(channel) -> None:
    sessions, channel_id, member = channel
    writer = MessageWriter(sessions)
    batch_sizes: list[int] = []
    write_batch = writer._write_batch

    async def observed(channel_id, items):
        batch_sizes.append(len(items))
        return await write_batch(channel_id, items)

    writer._write_batch = observed
    rows = await asyncio.gather(*(writer.write(channel_id, _item(member, n)) for n in range(30)))
    assert [row.seq for row in rows] == list(range(1, 31))
    assert all(row.created for row in rows)
    assert sum(batch_sizes) == 30 and len(batch_sizes) < 30, batch_sizes


async def test_batch_mixes_new_sends_retries_and_refusals(channel) -> None:
    sessions, channel_id, member = channel
    writer = MessageWriter(sessions)
    first = await writer.write(channel_id, _item(member, 1))
    outsider = new_user_id("outsider")
    retried, fresh, refused = await asyncio.gather(
        writer.write(channel_id, _item(member, 1)),
        writer.write(channel_id, _item(member, 2)),
        writer.write(channel_id, _item(outsider, 3)),
    )
    assert (retried.id, retried.created) == (first.id, False)
    assert (fresh.seq, fresh.created) == (2, True)
    assert refused is None
