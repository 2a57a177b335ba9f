"""Broadcasts across replicas: one Redis PUBLISH per broadcast, delivered by every other replica.

Publishes leave in the order the broadcasts were made: one writer task sends whatever queued since
its last round trip as one pipeline (still one PUBLISH per broadcast), so concurrent handlers
neither reorder a room's events on other replicas nor pay a round trip each.

The message carries the Socket.IO packet already encoded (text and any attachments), the target
rooms and the sids to skip, so a receiving replica hands it to `WireServer.deliver` as it is: it
encodes the frame once for its members and never parses the event. Room membership itself stays
per replica (the application publishes room changes on its own channel, relay.realtime.rooms).
"""

import asyncio
import base64
import json
import logging
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

from relay.metrics import record_socket_delivery_failure
from relay.realtime.wire.server import WireServer

log = logging.getLogger(__name__)
CHANNEL = "relay:wire"


class RedisFanout:
    def __init__(self, server: WireServer, redis: Redis, *, channel: str = CHANNEL) -> None:
        self._server, self._redis, self._channel = server, redis, channel
        self._origin = uuid.uuid4().hex
        self._listener: asyncio.Task | None = None
        self._writer: asyncio.Task | None = None
        self._outbox: list[str] = []
        self._queued = asyncio.Event()
        self.subscribed = asyncio.Event()
        server.fanout = self

    async def publish(
        self, namespace: str, rooms: list[str], skip: list[str], packets: list[str | bytes]
    ) -> None:
        text, *attachments = packets
        message = {"o": self._origin, "n": namespace, "r": rooms, "s": skip, "t": text}
        if attachments:
            message["a"] = [base64.b64encode(part).decode("ascii") for part in attachments]
        self._outbox.append(json.dumps(message, separators=(",", ":")))
        self._queued.set()

    def start(self) -> None:
        self._listener = asyncio.ensure_future(self._listen())
        self._writer = asyncio.ensure_future(self._write())

    async def stop(self) -> None:
        tasks = [task for task in (self._listener, self._writer) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._outbox:
            await self._send(self._outbox)  # what queued before the stop still goes out

    async def _write(self) -> None:
        while True:
            await self._queued.wait()
            self._queued.clear()
            batch, self._outbox = self._outbox, []
            await self._send(batch)

    async def _send(self, batch: list[str]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for message in batch:
                    pipe.publish(self._channel, message)
                await pipe.execute()
        except (RedisError, OSError) as error:
            # Members on other replicas miss these live and catch up with ?after=N (DESIGN §4 delivery).
            for _message in batch:
                record_socket_delivery_failure()
            log.warning("%d broadcast(s) not published to other replicas: %s", len(batch), error)

    async def _listen(self) -> None:
        """Deliver other replicas' broadcasts; resubscribes after Redis outages until cancelled."""
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    self.subscribed.set()
                    async for raw in pubsub.listen():
                        self._deliver(json.loads(raw["data"]))
            except (RedisError, OSError) as error:
                self.subscribed.clear()
                log.warning("broadcast subscription lost (%s); retrying in 1 s", error)
                await asyncio.sleep(1)

    def _deliver(self, message: dict) -> None:
        if message["o"] == self._origin:
            return
        packets = [message["t"], *(base64.b64decode(part) for part in message.get("a", ()))]
        namespace = message["n"]
        if namespace in self._server.rooms:
            self._server.deliver(namespace, message["r"], message["s"], packets)
