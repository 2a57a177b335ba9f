"""Notifications off the message hot path: queued after the commit, stored and pushed in batches.

`message_created` only appends to an in-process queue, so the sender's ack never waits for it. A
background task takes whatever has queued (up to MAX_BATCH messages), stores their notifications
in one transaction and emits `notification` to each recipient's own room, which AsyncRedisManager
fans out to every replica. The message itself is committed before it is queued, so nothing here
can lose or duplicate it; a replica that dies with a non-empty queue loses only those messages'
notifications (the unread counts on GET /channels still show them), and the unique (user, message)
constraint keeps a notification from being stored twice.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from relay.realtime.rooms import user_room
from relay.services import notifications

log = logging.getLogger(__name__)
MAX_BATCH = 100
Emit = Callable[[str, dict[str, Any], str], Awaitable[None]]


class Notifier:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], emit: Emit) -> None:
        self._sessions, self._emit = sessions, emit
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def message_created(self, message: dict[str, Any]) -> None:
        self._queue.put_nowait(message)

    async def notify(self, user_id: str, kind: str, text: str, channel_id: str | None = None) -> None:
        """A notification of its own (upload status, an error the user should know about)."""
        async with self._sessions() as session:
            notification, push = await notifications.for_user(session, user_id, kind, text, channel_id)
            await session.commit()
        if push:
            await self._emit("notification", notification, user_room(user_id))

    async def _process(self, batch: list[dict[str, Any]]) -> None:
        deliveries: list[tuple[str, dict[str, Any]]] = []
        async with self._sessions() as session:
            for message in batch:
                for user_id, notification, push in await notifications.for_message(session, message):
                    if push:
                        deliveries.append((user_id, notification))
            await session.commit()
        for user_id, notification in deliveries:
            await self._emit("notification", notification, user_room(user_id))

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._process(batch)
            except (SQLAlchemyError, OSError) as error:
                log.warning("notifications for %d messages not stored: %s", len(batch), error)

    async def drain(self, within: float = 5) -> None:
        """At shutdown: process what is still queued, bounded in time."""
        batch = []
        while not self._queue.empty():
            batch.append(self._queue.get_nowait())
        if batch:
            with contextlib.suppress(TimeoutError, SQLAlchemyError, OSError):
                await asyncio.wait_for(self._process(batch), within)
