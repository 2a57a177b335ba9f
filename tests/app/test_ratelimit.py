"""Token buckets in Redis: per client IP, per user, per user's messages; 429 + Retry-After;
each replica's own buckets (logged once, counted) while Redis is down or late, and Redis' again
when it answers."""

import asyncio
import io
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from relay.ratelimit import FAIL_OPEN_BACKOFF, KEY_PREFIX, RateLimiter
from relay.settings import Settings
from tests.utils.asgi_client import asgi_client
from tests.utils.edge_app import build_edge_test_app
from tests.utils.logs import log_lines
from tests.utils.redis_server import RedisServer
from tests.utils.settings import make_settings


def unique_ip() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}"


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def assert_rate_limited(response: httpx.Response) -> int:
    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])  # whole seconds, never a date or a fraction
    assert retry_after >= 1
    assert response.json() == {
        "error": {"code": "rate_limited", "message": f"too many requests; retry after {retry_after} s"}
    }
    return retry_after


@pytest.fixture
def outage_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own, which the test may stop and start."""
    server = RedisServer.start()
    yield server
    server.close()


async def test_ip_burst_gets_429_with_retry_after_then_recovers(redis_server: RedisServer) -> None:
    settings = make_settings(redis_server.url, rate_ip_per_second=5)
    hits_before = counter("relay_rate_limit_hits_total", scope="ip")
    headers = {"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250 + 1}"}
    async with asgi_client(build_edge_test_app(settings)) as client:
        responses = [await client.get("/api/small", headers=headers) for _ in range(8)]
        assert [r.status_code for r in responses[:5]] == [200] * 5
        retry_after = assert_rate_limited(responses[5])
        assert counter("relay_rate_limit_hits_total", scope="ip") - hits_before >= 1
        await asyncio.sleep(retry_after)
        recovered = await client.get("/api/small", headers=headers)
    assert recovered.status_code == 200


async def test_clients_behind_the_proxy_have_separate_buckets(redis_server: RedisServer) -> None:
    settings = make_settings(redis_server.url, rate_ip_per_second=2)
    first, second = {"X-Forwarded-For": "192.0.2.10"}, {"X-Forwarded-For": "192.0.2.11"}
    async with asgi_client(build_edge_test_app(settings)) as client:
        await Redis.from_url(redis_server.url).flushdb()
        first_statuses = [(await client.get("/api/small", headers=first)).status_code for _ in range(3)]
        second_status = (await client.get("/api/small", headers=second)).status_code
    assert first_statuses == [200, 200, 429]
    assert second_status == 200


async def test_untrusted_peer_cannot_dodge_the_limit_with_forwarded_for(redis_server: RedisServer) -> None:
    settings = make_settings(redis_server.url, rate_ip_per_second=2)
    async with asgi_client(
        build_edge_test_app(settings), peer=unique_ip().replace("198.51", "100.64")
    ) as client:
        statuses = [
            (await client.get("/api/small", headers={"X-Forwarded-For": unique_ip()})).status_code
            for _ in range(4)
        ]
    assert statuses[:2] == [200, 200]
    assert 429 in statuses[2:]


async def test_health_and_metrics_are_never_limited(redis_server: RedisServer) -> None:
    settings = make_settings(redis_server.url, rate_ip_per_second=1)
    headers = {"X-Forwarded-For": unique_ip()}
    async with asgi_client(build_edge_test_app(settings)) as client:
        statuses = {
            (await client.get(path, headers=headers)).status_code
            for path in ["/healthz", "/readyz", "/metrics"] * 10
        }
    assert 429 not in statuses


async def test_user_api_limit_answers_429_from_inside_the_app(redis_server: RedisServer) -> None:
    settings = make_settings(redis_server.url, rate_api_per_second=3)
    user = f"user-{uuid.uuid4().hex[:8]}"
    async with asgi_client(build_edge_test_app(settings)) as client:
        responses = [
            await client.get(f"/api/users/{user}/limited", headers={"X-Forwarded-For": unique_ip()})
            for _ in range(4)
        ]
    assert [r.status_code for r in responses[:3]] == [200] * 3
    assert_rate_limited(responses[3])


async def test_messages_allow_a_burst_of_20_then_10_per_second(settings: Settings) -> None:
    limiter = RateLimiter(Redis.from_url(str(settings.redis_url)), settings)
    user = f"user-{uuid.uuid4().hex[:8]}"
    hits_before = counter("relay_rate_limit_hits_total", scope="message")
    burst = [await limiter.hit_message(user) for _ in range(settings.rate_messages_burst)]
    refused = await limiter.hit_message(user)
    assert all(decision.allowed for decision in burst)
    assert not refused.allowed
    assert 0 < refused.retry_after <= 1 / settings.rate_messages_per_second + 0.01
    assert counter("relay_rate_limit_hits_total", scope="message") == hits_before + 1
    await asyncio.sleep(refused.retry_after + 0.02)
    assert (await limiter.hit_message(user)).allowed


async def test_concurrent_hits_never_take_more_than_the_burst(settings: Settings) -> None:
    limiter = RateLimiter(Redis.from_url(str(settings.redis_url)), settings)
    key = f"test:{uuid.uuid4().hex}"
    decisions = await asyncio.gather(*(limiter.hit(key, rate=0.01, burst=10) for _ in range(60)))
    assert sum(decision.allowed for decision in decisions) == 10


async def test_redis_outage_falls_back_to_local_buckets_logged_once_and_counted_then_recovers(
    outage_redis: RedisServer, log_output: io.StringIO
) -> None:
    """The outage lets an honest client through and still refuses its flood (it let all 30 through)."""
    settings = make_settings(outage_redis.url, rate_ip_per_second=1)
    # A fresh client for each phase: a refusal Redis already gave is remembered for its Retry-After.
    before, during, after = ({"X-Forwarded-For": f"192.0.2.{n}"} for n in (21, 22, 23))
    async with asgi_client(build_edge_test_app(settings)) as client:
        assert (await client.get("/api/small", headers=before)).status_code == 200
        assert_rate_limited(await client.get("/api/small", headers=before))

        outage_redis.stop()
        fail_open_before = counter("relay_rate_limit_fail_open_total")
        started = time.monotonic()
        during_outage = [(await client.get("/api/small", headers=during)).status_code for _ in range(30)]
        refilled = int(time.monotonic() - started)  # rate 1/s, burst 1
        assert during_outage[0] == 200
        assert during_outage.count(200) <= 1 + refilled and during_outage.count(429) >= 29 - refilled
        assert counter("relay_rate_limit_fail_open_total") - fail_open_before == 30
        warnings = [line for line in log_lines(log_output) if line["level"] == "WARNING"]
        assert len(warnings) == 1
        assert "rate limits from this replica's own buckets" in warnings[0]["message"]

        outage_redis.resume()
        await asyncio.sleep(FAIL_OPEN_BACKOFF + 0.1)
        statuses = [(await client.get("/api/small", headers=after)).status_code for _ in range(3)]
    assert statuses[0] == 200
    assert 429 in statuses[1:]


async def test_known_refusal_is_answered_without_asking_redis(settings: Settings) -> None:
    redis = Redis.from_url(str(settings.redis_url))
    limiter = RateLimiter(redis, settings)
    key = f"test:{uuid.uuid4().hex}"
    assert (await limiter.hit(key, rate=1, burst=1)).allowed
    first_refusal = await limiter.hit(key, rate=1, burst=1)
    assert not first_refusal.allowed
    await redis.delete(KEY_PREFIX + key)  # Redis would now allow: only the remembered refusal answers
    again = await limiter.hit(key, rate=1, burst=1)
    assert not again.allowed
    assert again.retry_after <= first_refusal.retry_after
    await asyncio.sleep(again.retry_after + 0.01)
    assert (await limiter.hit(key, rate=1, burst=1)).allowed


async def test_hung_redis_is_answered_locally_within_the_timeout(settings: Settings) -> None:
    """A Redis that accepts connections but never answers must cost a request at most the timeout."""
    held: list[asyncio.StreamWriter] = []  # keep connections open and unanswered
    silent = await asyncio.start_server(lambda _reader, writer: held.append(writer), "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    limiter = RateLimiter(Redis.from_url(f"redis://127.0.0.1:{port}/0"), settings, timeout=0.2)
    fail_open_before = counter("relay_rate_limit_fail_open_total")
    try:
        started = asyncio.get_running_loop().time()
        decision = await limiter.hit_ip("192.0.2.99")
        elapsed = asyncio.get_running_loop().time() - started
    finally:
        silent.close()
    assert held, "the limiter should have connected to the silent server"
    assert decision.allowed
    assert 0.2 <= elapsed < 0.5
    assert counter("relay_rate_limit_fail_open_total") == fail_open_before + 1


async def test_a_busy_event_loop_does_not_open_the_limits(settings: Settings) -> None:
    """Under a flood the replica's loop, not Redis, is what is slow: here the loop is held past the
    Redis deadline while 50 takes of a burst-5 bucket wait (on a fresh connection, so Redis cannot
    have answered yet). The old limiter timed out and let all 50 through."""
    limiter = RateLimiter(Redis.from_url(str(settings.redis_url)), settings)
    key = f"test:{uuid.uuid4().hex}"
    takes = [asyncio.ensure_future(limiter.hit(key, rate=0.01, burst=5)) for _ in range(50)]
    await asyncio.sleep(0)  # the takes start and their batch is on its way to Redis
    time.sleep(2 * limiter.timeout)  # noqa: ASYNC251  holding the loop is the point
    decisions = await asyncio.gather(*takes)
    assert sum(decision.allowed for decision in decisions) == 5


async def test_a_reply_that_waited_for_a_busy_loop_is_still_redis_answer(settings: Settings) -> None:
    """A reply already in the socket when the clock runs out is read and used. Redis says no here
    (another replica took the burst), so a timeout would show as 5 allowed from this replica's own
    fresh buckets, and as 20 with the old limiter, which opened."""
    other_replica = RateLimiter(Redis.from_url(str(settings.redis_url)), settings)
    key = f"test:{uuid.uuid4().hex}"
    assert all([(await other_replica.hit(key, rate=0.01, burst=5)).allowed for _ in range(5)])
    limiter = RateLimiter(Redis.from_url(str(settings.redis_url)), settings)
    assert (await limiter.hit(f"warm:{uuid.uuid4().hex}", rate=1, burst=1)).allowed  # connected
    fail_open_before = counter("relay_rate_limit_fail_open_total")
    takes = [asyncio.ensure_future(limiter.hit(key, rate=0.01, burst=5)) for _ in range(20)]
    for _ in range(10):  # start the takes and send their batch (redis-py awaits a few times to write)
        await asyncio.sleep(0)
    time.sleep(2 * limiter.timeout)  # noqa: ASYNC251  the reply arrives while the loop is held
    decisions = await asyncio.gather(*takes)
    assert sum(decision.allowed for decision in decisions) == 0
    assert counter("relay_rate_limit_fail_open_total") == fail_open_before
