"""Removes deleted messages' files from the uploads bucket, retrying while S3 is unreachable.

Deleting a message writes its files' keys to `object_deletions` in the tombstone's transaction
(migration 0007, relay.services.messages), so the deletion is scheduled even when S3 is down or the
replica dies right after. Each replica runs `run()`: woken after a delete, and every
RELAY_OBJECT_SWEEP_SECONDS for what is left, it claims up to MAX_BATCH keys (`FOR UPDATE SKIP
LOCKED`: replicas share the work), removes them with one DeleteObjects call and forgets the keys S3
confirmed.
"""

import asyncio
import contextlib
import logging

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from relay.db.models import ObjectDeletion
from relay.storage import Storage

log = logging.getLogger(__name__)
MAX_BATCH = 1000  # DeleteObjects takes at most 1,000 keys


class ObjectSweeper:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], storage: Storage, *, interval: float
    ) -> None:
        self._sessions, self._storage, self._interval = sessions, storage, interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def sweep_once(self) -> int:
        """Remove one batch of scheduled objects; returns how many keys S3 confirmed."""
        async with self._sessions() as session:
            keys = list(
                await session.scalars(
                    select(ObjectDeletion.key)
                    .order_by(ObjectDeletion.created_at)
                    .limit(MAX_BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            if not keys:
                return 0
            removed = await self._storage.delete_many(keys)
            if removed:
                await session.execute(delete(ObjectDeletion).where(ObjectDeletion.key.in_(removed)))
            await session.commit()
        return len(removed)

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):  # not wait_for: see relay.realtime.notifier
                    await self._wake.wait()
            self._wake.clear()
            try:
                while await self.sweep_once() >= MAX_BATCH:
                    pass
            except (BotoCoreError, ClientError, SQLAlchemyError, OSError) as error:
                log.warning("deleted messages' files not removed yet, retrying: %s", error)
