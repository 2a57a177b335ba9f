"""Presence changes are announced in batches: one emit per set of changed users a room should hear.

Runs PresenceAnnouncer against the migrated test database and Redis with the emits captured, so
the number of events a burst of connects costs is pinned here; tests/app/realtime/test_presence.py
checks the events over real sockets on both replicas.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from relay.realtime.presence import PresenceTracker
from relay.realtime.presence_announcer import PresenceAnnouncer
from relay.realtime.rooms import channel_room
from tests.utils.tokens import new_user_id

BATCH_SECONDS = 0.05


@dataclass
class Emits:
    calls: list[tuple[str, tuple[dict[str, Any], ...], list[str]]] = field(default_factory=list)

    async def __call__(self, event: str, changes: tuple[dict[str, Any], ...], rooms: list[str]) -> None:
        self.calls.append((event, changes, sorted(rooms)))

    def deliveries(self, members_of: dict[str, int]) -> int:
        """Events that reach sockets, given each room's member count (rooms of one emit overlap)."""
        return sum(max(members_of[room] for room in rooms) for _event, _changes, rooms in self.calls)


@dataclass
class World:
    sessions: async_sessionmaker[AsyncSession]
    presence: PresenceTracker
    emits: Emits
    announcer: PresenceAnnouncer

    async def channel(self, members: list[str]) -> str:
        channel_id = new_user_id("ch")
        async with self.sessions() as session:
            for user_id in members:
                await session.execute(
                    text("INSERT INTO users (id, name) VALUES (:u, :u) ON CONFLICT DO NOTHING"),
                    {"u": user_id},
                )
            await session.execute(
                text("INSERT INTO channels (id, name, kind, created_by) VALUES (:c, 'room', 'channel', :u)"),
                {"c": channel_id, "u": members[0]},
            )
            for user_id in members:
                await session.execute(
                    text("INSERT INTO memberships (channel_id, user_id) VALUES (:c, :u)"),
                    {"c": channel_id, "u": user_id},
                )
            await session.commit()
        return channel_room(channel_id)

    async def connect(self, user_id: str) -> None:
        """What events.py does for a user's first socket."""
        if await self.presence.connected(user_id, f"sid-{user_id}"):
            self.announcer.changed(user_id, online=True)

    async def settle(self) -> None:
        await asyncio.sleep(BATCH_SECONDS * 6)


@pytest.fixture
async def world(relay_env, postgres_db, redis_server) -> AsyncIterator[World]:
    engine = create_async_engine(postgres_db.url())
    redis = Redis.from_url(redis_server.url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    presence = PresenceTracker(redis, new_user_id("replica"), ttl=30)
    emits = Emits()
    announcer = PresenceAnnouncer(sessions, presence, emits, batch_seconds=BATCH_SECONDS)
    running = asyncio.create_task(announcer.run())
    yield World(sessions, presence, emits, announcer)
    running.cancel()
    await presence.release()
    await redis.aclose()
    await engine.dispose()


async def test_a_user_alone_is_one_event_with_one_change_to_all_their_channels(world: World) -> None:
    alice, bob, carol = (new_user_id(name) for name in ("alice", "bob", "carol"))
    first, second = await world.channel([alice, bob]), await world.channel([alice, carol])
    await world.channel([bob, carol])  # alice is not in it: it hears nothing
    await world.connect(alice)
    await world.settle()
    online = {"user_id": alice, "status": "online", "text": None, "emoji": None}
    assert world.emits.calls == [("presence", (online,), sorted([first, second]))]


async def test_a_burst_of_connects_into_one_channel_is_one_event_per_batch(world: World) -> None:
    members = [new_user_id("member") for _ in range(50)]
    room = await world.channel(members)
    # Recorded together, as connects arriving within one batch are (no timing in the test).
    came_online = await asyncio.gather(*(world.presence.connected(u, f"sid-{u}") for u in members))
    for user_id in (user_id for user_id, came in zip(members, came_online, strict=True) if came):
        world.announcer.changed(user_id, online=True)
    await world.settle()
    assert [rooms for _event, _changes, rooms in world.emits.calls] == [[room]]
    (_event, changes, _rooms) = world.emits.calls[0]
    assert sorted(change["user_id"] for change in changes) == sorted(members)
    # One event per announcing to each of the 50 members was 50 x 50 deliveries; a batch is 50.
    assert world.emits.deliveries({room: len(members)}) == len(members)


async def test_the_state_announced_is_the_one_at_announcing_time(world: World) -> None:
    """A change recorded here is shown as the user is when announced: a socket may have closed, or
    another replica may hold one, meanwhile."""
    gone, back = new_user_id("gone"), new_user_id("back")
    room = await world.channel([gone, back])
    async with world.sessions() as session:
        await session.execute(
            text("UPDATE users SET status = 'dnd', status_text = 'focus' WHERE id = :u"), {"u": back}
        )
        await session.commit()
    await world.presence.connected(back, "sid-on-another-replica")
    world.announcer.changed(gone, online=True)  # its socket closed before the batch went out
    world.announcer.changed(back, online=False)  # reconnected elsewhere within the batch
    await world.settle()
    assert world.emits.calls == [
        (
            "presence",
            (
                {"user_id": back, "status": "dnd", "text": "focus", "emoji": None},
                {"user_id": gone, "status": "offline"},
            ),
            [room],
        )
    ]


async def test_users_in_no_channel_are_announced_to_nobody(world: World) -> None:
    loner = new_user_id("loner")
    async with world.sessions() as session:
        await session.execute(text("INSERT INTO users (id, name) VALUES (:u, :u)"), {"u": loner})
        await session.commit()
    await world.connect(loner)
    await world.settle()
    assert world.emits.calls == []
