"""Token buckets are taken atomically in Redis, and concurrent takes share one script call."""

import asyncio
import uuid

from redis.asyncio import Redis

from relay.bucket_store import MAX_BATCH, BucketStore
from tests.utils.redis_server import RedisServer


async def script_calls(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    return sum(stats.get(name, {}).get("calls", 0) for name in ("cmdstat_evalsha", "cmdstat_eval"))


async def test_concurrent_takes_share_one_round_trip(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    store = BucketStore(redis)
    await store.take(f"warm:{uuid.uuid4().hex}", 1, 1)  # loads the script
    before = await script_calls(redis)
    keys = [f"test:{uuid.uuid4().hex}" for _ in range(50)]
    decisions = await asyncio.gather(*(store.take(key, 1, 1) for key in keys))
    assert all(decision.allowed for decision in decisions)
    assert await script_calls(redis) - before == 1


async def test_the_same_key_twice_in_one_batch_is_taken_in_order(redis_server: RedisServer) -> None:
    store = BucketStore(Redis.from_url(redis_server.url))
    key = f"test:{uuid.uuid4().hex}"
    first, second, third = await asyncio.gather(*(store.take(key, 1, 2) for _ in range(3)))
    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
    assert 0 < third.retry_after <= 1


async def test_bucket_refills_at_its_rate(redis_server: RedisServer) -> None:
    store = BucketStore(Redis.from_url(redis_server.url))
    key = f"test:{uuid.uuid4().hex}"
    assert (await store.take(key, 20, 1)).allowed
    refused = await store.take(key, 20, 1)
    assert not refused.allowed
    assert 0.02 < refused.retry_after <= 0.05
    await asyncio.sleep(refused.retry_after + 0.01)
    assert (await store.take(key, 20, 1)).allowed


async def test_idle_buckets_expire(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    key = f"test:{uuid.uuid4().hex}"
    await BucketStore(redis).take(key, 10, 20)
    ttl_ms = await redis.pttl(key)
    assert 0 < ttl_ms <= 3000  # full after 2 s at 10/s, plus a second of slack


async def test_large_bursts_are_split_into_bounded_batches(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    store = BucketStore(redis)
    await store.take(f"warm:{uuid.uuid4().hex}", 1, 1)
    before = await script_calls(redis)
    takes = 2 * MAX_BATCH + 10
    decisions = await asyncio.gather(*(store.take(f"test:{uuid.uuid4().hex}", 1, 1) for _ in range(takes)))
    assert all(decision.allowed for decision in decisions)
    assert await script_calls(redis) - before == 3
