"""Notifications off the message hot path, from a durable outbox that any replica drains.

The statement that stores a message also adds its id to `notification_outbox` (migration 0007,
relay.services.message_writer), so the work outlives the replica that took the message. Each replica
runs `run()`: it drains the outbox when its own messages wake it, and every POLL_SECONDS anyway to
take over what a dead replica left. One drain claims up to MAX_BATCH ids with `FOR UPDATE SKIP
LOCKED` (two replicas never work on the same message), stores their notifications and deletes the
ids in one transaction, then emits `notification` to each recipient's own room, which
AsyncRedisManager fans out to every replica. A replica that dies mid-drain leaves its transaction
uncommitted, so the ids return to the outbox; the unique (user, message) constraint keeps a
notification from being stored twice, and only newly stored ones are pushed.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from relay.db.models import Message, NotificationOutbox
from relay.realtime.rooms import user_room
from relay.services import notifications

log = logging.getLogger(__name__)
MAX_BATCH = 100
# How soon a surviving replica takes over a dead one's outbox; an empty outbox costs one indexed
# SELECT per replica per poll.
POLL_SECONDS = 1.0
Emit = Callable[[str, dict[str, Any], str], Awaitable[None]]


class Notifier:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], emit: Emit, online: notifications.Online
    ) -> None:
        self._sessions, self._emit, self._online = sessions, emit, online
        self._wake = asyncio.Event()

    def message_created(self, _message: dict[str, Any]) -> None:
        """The message's outbox entry is committed with it: only wake the drain for low latency."""
        self._wake.set()

    async def notify(self, user_id: str, kind: str, text: str, channel_id: str | None = None) -> None:
        """A notification of its own (upload status, an error the user should know about)."""
        async with self._sessions() as session:
            notification, push = await notifications.for_user(session, user_id, kind, text, channel_id)
            await session.commit()
        if push:
            await self._emit("notification", notification, user_room(user_id))

    async def _claim(self, session: AsyncSession) -> tuple[int, list[Message]]:
        """Take up to MAX_BATCH outbox entries (deleted in this transaction); their live messages."""
        claimed = (
            select(NotificationOutbox.message_id)
            .order_by(NotificationOutbox.created_at)
            .limit(MAX_BATCH)
            .with_for_update(skip_locked=True)
        )
        ids = list(
            await session.scalars(
                delete(NotificationOutbox)
                .where(NotificationOutbox.message_id.in_(claimed.scalar_subquery()))
                .returning(NotificationOutbox.message_id)
            )
        )
        if not ids:
            return 0, []
        rows = await session.scalars(
            select(Message).where(Message.id.in_(ids), Message.deleted_at.is_(None)).order_by(Message.seq)
        )
        return len(ids), list(rows)

    async def drain_once(self) -> int:
        """Process one claimed batch; returns how many outbox entries it took."""
        deliveries: list[tuple[str, dict[str, Any]]] = []
        async with self._sessions() as session:
            claimed, batch = await self._claim(session)
            for message in batch:
                stored = await notifications.for_message(session, _as_message(message), self._online)
                deliveries += [(user_id, item) for user_id, item, push in stored if push]
            await session.commit()
        for user_id, notification in deliveries:
            await self._emit("notification", notification, user_room(user_id))
        return claimed

    async def _drain(self) -> None:
        while await self.drain_once() >= MAX_BATCH:
            pass

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation that
                # arrives as the wake-up does, and this loop then outlived the replica's shutdown.
                async with asyncio.timeout(POLL_SECONDS):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._drain()
            except (SQLAlchemyError, OSError) as error:  # the entries stay: retried at the next poll
                log.warning("notifications not produced yet, retrying: %s", error)

    async def drain(self, within: float = 5) -> None:
        """At shutdown: process what is pending, bounded in time (what is left, others take)."""
        with contextlib.suppress(TimeoutError, SQLAlchemyError, OSError):
            async with asyncio.timeout(within):
                await self._drain()


def _as_message(row: Message) -> dict[str, Any]:
    return {
        "id": row.id,
        "channel_id": row.channel_id,
        "author_id": row.author_id,
        "body": row.body,
        "parent_id": row.parent_id,
    }
