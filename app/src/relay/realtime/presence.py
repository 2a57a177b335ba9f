"""Presence across replicas: a user is online while any replica holds a live socket of theirs.

Redis keeps, per user, a sorted set `presence:<user>` of replica ids scored by an expiry time that
the replica pushes forward every ttl/4 seconds. A killed replica stops refreshing, so its users drop
to offline within ttl seconds (RELAY_PRESENCE_TTL_SECONDS, 45 by default): the next sweep of any
replica (every ttl/4 s) finds them in `presence:watch` and announces it, well within 60 s. The
sweep runs as one Lua script, so exactly one replica announces each change.
"""

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

WATCH = "presence:watch"

_SWEEP = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)
local gone = {}
for _, uid in ipairs(expired) do
  local key = 'presence:' .. uid
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  local latest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if latest[2] then
    redis.call('ZADD', KEYS[1], latest[2], uid)
  else
    redis.call('ZREM', KEYS[1], uid)
    table.insert(gone, uid)
  end
end
return gone
"""


def _key(user_id: str) -> str:
    return f"presence:{user_id}"


class PresenceTracker:
    def __init__(self, redis: Redis, replica_id: str, *, ttl: float) -> None:
        self._redis, self._replica, self._ttl = redis, replica_id, ttl
        self._local: defaultdict[str, set[str]] = defaultdict(set)
        self._sweep = redis.register_script(_SWEEP)

    async def _mark(self, user_ids: list[str]) -> None:
        expiry = time.time() + self._ttl
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.zadd(_key(user_id), {self._replica: expiry})
                pipe.zadd(WATCH, {user_id: expiry}, gt=True)
            await pipe.execute()

    async def _live_replicas(self, user_id: str) -> int:
        return await self._redis.zcount(_key(user_id), time.time(), "+inf")

    async def connected(self, user_id: str, sid: str) -> bool:
        """Register a socket; True when the user has just come online on any replica."""
        first_here = not self._local[user_id]
        self._local[user_id].add(sid)
        if not first_here:
            return False
        was_online = await self._live_replicas(user_id) > 0
        await self._mark([user_id])
        return not was_online

    async def disconnected(self, user_id: str, sid: str) -> bool:
        """Forget a socket; True when the user's last live socket anywhere has gone."""
        sids = self._local.get(user_id)
        if sids is None:
            return False
        sids.discard(sid)
        if sids:
            return False
        del self._local[user_id]
        await self._redis.zrem(_key(user_id), self._replica)
        return await self._live_replicas(user_id) == 0

    async def live(self, user_ids: list[str]) -> set[str]:
        """The users among `user_ids` with a live socket on some replica; raises if Redis is down."""
        if not user_ids:
            return set()
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.zcount(_key(user_id), now, "+inf")
            counts = await pipe.execute()
        return {user_id for user_id, count in zip(user_ids, counts, strict=True) if count}

    async def online(self, user_ids: list[str]) -> set[str]:
        """`live`, but none if Redis is down."""
        try:
            return await self.live(user_ids)
        except (RedisError, OSError) as error:
            log.warning("presence unavailable, reporting users offline: %s", error)
            return set()

    async def heartbeat(self) -> list[str]:
        """Refresh this replica's users, then sweep expired ones; returns users who went offline."""
        if self._local:
            await self._mark(list(self._local))
        return [
            uid.decode() if isinstance(uid, bytes) else uid
            for uid in await self._sweep([WATCH], [time.time()])
        ]

    async def release(self) -> None:
        """Graceful shutdown: drop this replica's entries instead of waiting for them to expire."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in self._local:
                pipe.zrem(_key(user_id), self._replica)
            await pipe.execute()
        self._local.clear()

    async def run(self, on_offline: Callable[[str], None]) -> None:
        while True:
            await asyncio.sleep(self._ttl / 4)
            try:
                gone = await self.heartbeat()
            except (RedisError, OSError) as error:
                log.warning("presence heartbeat failed: %s", error)
                continue
            for user_id in gone:
                on_offline(user_id)
