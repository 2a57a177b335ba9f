"""Group commit per channel: concurrent sends to one channel share one statement and one commit.

A channel's messages are committed one transaction after another (the counter row lock orders commits
by seq, see migration 0002), and each commit waits for a WAL flush. Without batching, ten senders
firing at once queue ten flushes; here the first send to a channel starts a writer, sends arriving
while it runs join the next batch, and each batch is one call of relay_post_messages: one round trip,
one flush. A lone send is written at once (a batch of one), so batching adds no latency.

The same statement adds each new message to `notification_outbox` (migration 0007): the message and
its pending notification work commit together, so no replica's death between the ack and the
notifications can lose them (relay.realtime.notifier drains the outbox).
"""

import asyncio
import json
from dataclasses import dataclass, field

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

MAX_BATCH = 200
_POST_BATCH = text(
    """
    WITH posted AS (SELECT * FROM relay_post_messages(:channel_id, CAST(:items AS jsonb))),
         queued AS (INSERT INTO notification_outbox (message_id) SELECT id FROM posted WHERE created)
    SELECT * FROM posted
    """
)


@dataclass
class _Send:
    item: dict[str, str | None]
    result: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class MessageWriter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._queues: dict[str, list[_Send]] = {}
        self._writers: set[asyncio.Task] = set()

    async def write(self, channel_id: str, item: dict[str, str | None]) -> Row | None:
        """Store one message; the stored row, the original of a retry, or None when refused."""
        send = _Send(item)
        queue = self._queues.get(channel_id)
        if queue is not None:
            queue.append(send)  # the running writer takes it in its next batch
        else:
            self._queues[channel_id] = [send]
            # A task of its own: a caller that goes away must not cancel the others' writes.
            writer = asyncio.create_task(self._drain(channel_id), name=f"message-writer-{channel_id}")
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        return await asyncio.shield(send.result)

    async def _drain(self, channel_id: str) -> None:
        try:
            while queue := self._queues[channel_id]:
                batch, self._queues[channel_id] = queue[:MAX_BATCH], queue[MAX_BATCH:]
                try:
                    rows = await self._write_batch(channel_id, [send.item for send in batch])
                except Exception as error:  # handed to every waiting sender, not swallowed
                    for send in batch:
                        send.result.set_exception(error)
                    continue
                by_item = {row.item: row for row in rows}
                for index, send in enumerate(batch):
                    send.result.set_result(by_item.get(index))
        finally:
            del self._queues[channel_id]

    async def _write_batch(self, channel_id: str, items: list[dict[str, str | None]]) -> list[Row]:
        async with self._sessions() as session:
            connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            result = await connection.execute(
                _POST_BATCH, {"channel_id": channel_id, "items": json.dumps(items)}
            )
            return list(result.all())
