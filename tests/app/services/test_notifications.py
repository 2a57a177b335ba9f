"""Which members a new message loads: only those who may get some kind, `kind_for` still judging.

The rules themselves are pinned end to end in tests/app/realtime/test_notification_delivery.py;
these pin the member query in front of them, on the migrated test database.
"""

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from relay.services import notifications
from tests.utils.tokens import new_user_id

# Members of the channel besides the author, by their channel level (None: the default).
LEVELS = {"plain": None, "everything": "all", "quiet": "none", "muted everything": "all"}


@dataclass
class Room:
    sessions: async_sessionmaker[AsyncSession]
    channel_id: str
    author: str
    members: dict[str, str]  # role in LEVELS -> user id
    statements: list[str]  # SQL run since the fixture was built
    seqs: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def post(self, body: str, *, author: str | None = None, parent_id: str | None = None) -> dict:
        """A stored message (notifications refer to it), as the outbox drain reads it."""
        message = {
            "id": new_user_id("msg")[-32:],
            "channel_id": self.channel_id,
            "author_id": author or self.author,
            "body": body,
            "parent_id": parent_id,
        }
        async with self.sessions() as session:
            await session.execute(
                text(
                    "INSERT INTO messages (id, channel_id, seq, author_id, body, client_msg_id, parent_id) "
                    "VALUES (:id, :channel_id, :seq, :author_id, :body, :id, :parent_id)"
                ),
                {**message, "seq": next(self.seqs)},
            )
            await session.commit()
        return message


async def _nobody_online(_user_ids: list[str]) -> set[str]:
    return set()


@pytest.fixture
async def room(relay_env, postgres_db) -> AsyncIterator[Room]:
    engine = create_async_engine(postgres_db.url())
    author, channel_id = new_user_id("author"), new_user_id("ch")[:32]
    members = {role: new_user_id(role.replace(" ", "-")) for role in LEVELS}
    async with engine.begin() as connection:
        for user_id in (author, *members.values()):
            await connection.execute(text("INSERT INTO users (id, name) VALUES (:u, :u)"), {"u": user_id})
        await connection.execute(
            text("INSERT INTO channels (id, name, kind, created_by) VALUES (:c, 'room', 'channel', :u)"),
            {"c": channel_id, "u": author},
        )
        await connection.execute(
            text("INSERT INTO memberships (channel_id, user_id) VALUES (:c, :u)"),
            {"c": channel_id, "u": author},
        )
        for role, user_id in members.items():
            await connection.execute(
                text(
                    "INSERT INTO memberships (channel_id, user_id, notify_level, muted) "
                    "VALUES (:c, :u, :l, :m)"
                ),
                {"c": channel_id, "u": user_id, "l": LEVELS[role], "m": role.startswith("muted")},
            )
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    yield Room(async_sessionmaker(engine, expire_on_commit=False), channel_id, author, members, statements)
    await engine.dispose()


async def _loaded(room: Room, *, everyone: bool = False, named: frozenset[str] = frozenset()) -> set[str]:
    async with room.sessions() as session:
        found = await notifications.recipients(
            session, room.channel_id, room.author, everyone=everyone, named=set(named)
        )
    return {recipient.user_id for recipient in found}


async def _notified(room: Room, message: dict) -> dict[str, str]:
    async with room.sessions() as session:
        stored = await notifications.for_message(session, message, _nobody_online)
        await session.commit()
    return {user_id: notification["kind"] for user_id, notification, _push in stored}


async def test_a_plain_message_loads_only_members_whose_level_is_all(room: Room) -> None:
    m = room.members
    assert await _loaded(room) == {m["everything"], m["muted everything"]}
    # kind_for still judges what it loads: muting wins over level `all`.
    assert await _notified(room, await room.post("hello all")) == {m["everything"]: "message"}


async def test_a_mention_loads_the_named_member_besides_those_at_level_all(room: Room) -> None:
    m = room.members
    assert await _loaded(room, named=frozenset({m["plain"], "nobody-here"})) == {
        m["plain"],
        m["everything"],
        m["muted everything"],
    }
    notified = await _notified(room, await room.post(f"hi @{m['plain']} and @{m['quiet']}"))
    assert notified == {m["plain"]: "mention", m["everything"]: "message"}


async def test_everyone_loads_every_member_but_the_author(room: Room) -> None:
    assert await _loaded(room, everyone=True) == set(room.members.values())
    notified = await _notified(room, await room.post("@channel release is out"))
    m = room.members
    assert notified == {m["plain"]: "mention", m["everything"]: "mention"}


async def test_a_reply_reaches_the_parents_author_at_the_default_level(room: Room) -> None:
    m = room.members
    parent = await room.post("a question", author=m["plain"])
    notified = await _notified(room, await room.post("an answer", parent_id=parent["id"]))
    assert notified == {m["plain"]: "reply", m["everything"]: "message"}


async def test_a_plain_message_where_nobody_takes_every_message_runs_no_member_query(room: Room) -> None:
    async with room.sessions() as session:
        await session.execute(
            text("UPDATE memberships SET notify_level = NULL WHERE channel_id = :c"), {"c": room.channel_id}
        )
        await session.commit()
    room.statements.clear()
    assert await _notified(room, await room.post("hello all")) == {}
    assert not [sql for sql in room.statements if "notification_preferences" in sql], room.statements
    assert await _notified(room, await room.post(f"hi @{room.members['plain']}")) == {
        room.members["plain"]: "mention"
    }
