"""`presence` events, batched per replica, so connecting users cost O(1) on the socket's path.

Announcing each change to everyone sharing a channel cost a query of the user's whole audience and
one delivery per audience member: filling a 500-member channel took ~125,000 presence deliveries,
and replicas spent their CPU on it while users connected (issue 10). A connect, disconnect, status
change or presence expiry now only records the user here. Every BATCH_SECONDS a replica announces
what it recorded: one query finds the changed users' channels and statuses, and each channel room
gets one `presence` event whose arguments are the changes of that room's members, one
`{user_id, status, text?, emoji?}` each (DESIGN §4a). Rooms that hear the same changes share one
emit, so a user who changes alone is announced with one event carrying one argument, as before.
The user's own sockets are in those rooms too, and hear their own change.

The state announced is read when announcing (live sockets in Redis, status in Postgres), not when
recorded: a user who leaves one replica and reaches another within a batch is shown as they are
at the end, whichever replica announces last.
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from relay.db.models import Membership, User
from relay.realtime.presence import PresenceTracker
from relay.realtime.rooms import channel_room

log = logging.getLogger(__name__)
# How long changes are collected before they are announced: the latency of a presence change, and
# the factor by which a burst of connects shrinks (a channel hears one event per batch, not one
# per arriving member).
BATCH_SECONDS = 1.0
Emit = Callable[[str, tuple[dict[str, Any], ...], list[str]], Awaitable[None]]


class PresenceAnnouncer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        presence: PresenceTracker,
        emit: Emit,
        *,
        batch_seconds: float = BATCH_SECONDS,
    ) -> None:
        self._sessions, self._presence, self._emit = sessions, presence, emit
        self._batch_seconds = batch_seconds
        self._pending: dict[str, bool] = {}  # user id -> online, as last recorded here
        self._wake = asyncio.Event()

    def changed(self, user_id: str, *, online: bool) -> None:
        """Record a change; it is announced with the next batch."""
        self._pending[user_id] = online
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._batch_seconds)
            self._wake.clear()
            await self._announce_pending()

    async def drain(self, within: float = 2) -> None:
        """At shutdown: announce what is recorded, bounded in time."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._announce_pending()

    async def _announce_pending(self) -> None:
        pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            await self.announce(pending)
        except (SQLAlchemyError, RedisError, OSError) as error:
            # Kept for the next batch, unless a newer change of the same user was recorded meanwhile.
            self._pending = {**pending, **self._pending}
            self._wake.set()
            log.warning("presence not announced yet, retrying with the next batch: %s", error)

    async def announce(self, recorded: dict[str, bool]) -> None:
        """One `presence` emit per distinct set of changed users that a channel room should hear."""
        user_ids = sorted(recorded)
        try:
            online = await self._presence.live(user_ids)
        except (RedisError, OSError) as error:
            log.warning("presence unavailable, announcing the changes as recorded: %s", error)
            online = {user_id for user_id, up in recorded.items() if up}
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Membership.channel_id, User.id, User.status, User.status_text, User.status_emoji)
                    .join(User, User.id == Membership.user_id)
                    .where(Membership.user_id.in_(user_ids))
                )
            ).all()
        changes: dict[str, dict[str, Any]] = {}
        changed_in: defaultdict[str, list[str]] = defaultdict(list)  # room -> its changed members
        for channel_id, user_id, status, text, emoji in rows:
            if user_id in online:
                changes[user_id] = {"user_id": user_id, "status": status, "text": text, "emoji": emoji}
            else:
                changes[user_id] = {"user_id": user_id, "status": "offline"}
            changed_in[channel_room(channel_id)].append(user_id)
        rooms_hearing: defaultdict[tuple[str, ...], list[str]] = defaultdict(list)
        for room, members in changed_in.items():
            rooms_hearing[tuple(sorted(members))].append(room)
        for members, rooms in rooms_hearing.items():
            await self._emit("presence", tuple(changes[user_id] for user_id in members), rooms)
