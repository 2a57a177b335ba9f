"""Room changes that must reach sockets on every replica.

python-socketio's `enter_room` acts only on sids this process holds, and we know users, not sids,
when a REST call adds someone to a channel. So each change is applied here at once and published on
a Redis channel; every other replica applies it to its own sockets in the user's room.
"""

import asyncio
import json
import logging
import uuid

import socketio
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
CHANNEL = "relay:rooms"
NAMESPACE = "/"


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def channel_room(channel_id: str) -> str:
    return f"channel:{channel_id}"


class RoomSync:
    def __init__(self, sio: socketio.AsyncServer, redis: Redis) -> None:
        self._sio, self._redis = sio, redis
        self._origin = uuid.uuid4().hex

    async def _apply(self, user_id: str, room: str, enter: bool) -> None:
        change = self._sio.enter_room if enter else self._sio.leave_room
        for sid, _eio_sid in list(self._sio.manager.get_participants(NAMESPACE, user_room(user_id))):
            await change(sid, room)

    async def change(self, user_id: str, channel_id: str, *, enter: bool) -> None:
        room = channel_room(channel_id)
        await self._apply(user_id, room, enter)
        message = json.dumps({"origin": self._origin, "user_id": user_id, "room": room, "enter": enter})
        try:
            await self._redis.publish(CHANNEL, message)
        except RedisError as error:
            # Sockets elsewhere pick the room up on their next reconnect (rooms are rebuilt on connect).
            log.warning("room change not published to other replicas: %s", error)

    async def listen(self) -> None:
        """Apply other replicas' changes; resubscribes after Redis outages until cancelled."""
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    async for raw in pubsub.listen():
                        change = json.loads(raw["data"])
                        if change["origin"] != self._origin:
                            await self._apply(change["user_id"], change["room"], change["enter"])
            except (RedisError, OSError) as error:
                log.warning("room change subscription lost (%s); retrying in 1 s", error)
                await asyncio.sleep(1)
