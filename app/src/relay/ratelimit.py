"""Redis-backed token buckets shared by every replica: per client IP, per user, per user's messages.

The buckets live in Redis (relay.bucket_store: one atomic Lua call, shared by concurrent takes),
so every replica enforces the same budget. When Redis does not answer in time, the replica answers
from its own in-process buckets (relay.local_buckets), which every take also fills: a Redis blip
must not take the API down, and a flood must not open the limits either. A deadline by the clock
alone also counts the time this event loop was too busy to read Redis' reply, so under a flood a
busy loop looked like a slow Redis and every limit turned off exactly when it mattered (issue 7):
the deadline now ends only after the loop has had turns to read a reply. After a
failure the limiter stops asking Redis for FAIL_OPEN_BACKOFF, so an outage costs requests nothing;
each decision taken without Redis is counted (relay_rate_limit_fail_open_total), and the log says
so at most once per FAIL_OPEN_LOG_INTERVAL so an outage does not flood the logs.
"""

import asyncio
import json
import logging
import math
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from relay.bucket_store import BucketStore, Decision
from relay.errors import RelayError
from relay.local_buckets import LocalBuckets
from relay.logging import request_context
from relay.metrics import record_rate_limit_fail_open, record_rate_limit_hit
from relay.settings import Settings

__all__ = ["Decision", "IPRateLimit", "RateLimited", "RateLimiter"]

FAIL_OPEN_LOG_INTERVAL = 30.0
# After a failure, skip Redis this long: during an outage requests must not each wait for a timeout.
FAIL_OPEN_BACKOFF = 1.0
# Turns of the event loop a reply needs once it is in the socket (read, parse, resolve, resume).
GRACE_TURNS = 5
KEY_PREFIX = "relay:rl:"
REFUSAL_CACHE_SIZE = 10_000
# Paths never limited: probes must answer during a flood, and scrapers come from inside.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

log = logging.getLogger(__name__)


class RateLimited(RelayError):
    """Raised by `RateLimiter.enforce_user_api`; the app's RelayError handler answers the 429."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(
            "rate_limited",
            rate_limited_message(decision),
            429,
            {"Retry-After": decision.retry_after_header},
        )
        self.decision = decision


class RateLimiter:
    def __init__(self, redis: Redis, settings: Settings, *, timeout: float = 0.25) -> None:
        self.settings = settings
        # Bounded wait: a hung Redis must cost a request at most this much before the local buckets answer.
        self.timeout = timeout
        self.store = BucketStore(redis)
        self.local = LocalBuckets()
        self._last_fail_open_log = -math.inf
        self._suppressed_fail_opens = 0
        self._skip_redis_until = -math.inf
        # key -> monotonic time before which Redis already said no: a flood is refused without
        # a round trip (tokens only come back with time, so the answer cannot change before then).
        self._refused_until: dict[str, float] = {}

    async def hit(self, key: str, rate: float, burst: int) -> Decision:
        """Take one token from bucket `key` (refilled at `rate`/s, holding at most `burst`)."""
        now = time.monotonic()
        refused_until = self._refused_until.get(key)
        if refused_until is not None:
            if now < refused_until:
                return Decision(allowed=False, retry_after=refused_until - now)
            del self._refused_until[key]
        local = self.local.take(key, rate, burst)
        if now < self._skip_redis_until:
            record_rate_limit_fail_open()
            return local
        try:
            decision = await self._ask_redis(key, rate, burst)
        except (RedisError, OSError, TimeoutError) as error:  # TimeoutError: Redis did not answer
            self._note_fail_open(error)
            return local
        if not decision.allowed:
            self._remember_refusal(key, now + decision.retry_after)
        return decision

    async def _ask_redis(self, key: str, rate: float, burst: int) -> Decision:
        """Redis' answer, waited for `timeout` s by the clock and then GRACE_TURNS turns of this
        event loop: a loop too busy to run for a while (a flood) has not yet read a reply that may
        be waiting in its socket, and the deadline is for Redis, not for the loop."""
        answer = self.store.submit(KEY_PREFIX + key, rate, burst)
        try:
            await asyncio.wait([answer], timeout=self.timeout)
            for _ in range(GRACE_TURNS):
                if answer.done():
                    break
                await asyncio.sleep(0)
        finally:
            if not answer.done():
                answer.cancel()
        if answer.cancelled():
            raise TimeoutError(f"Redis did not answer within {self.timeout:g} s")
        return answer.result()

    def _remember_refusal(self, key: str, until: float) -> None:
        if len(self._refused_until) >= REFUSAL_CACHE_SIZE:
            now = time.monotonic()
            self._refused_until = {k: t for k, t in self._refused_until.items() if t > now}
            if len(self._refused_until) >= REFUSAL_CACHE_SIZE:
                return  # every entry still live: a wide flood; fall back to asking Redis
        self._refused_until[key] = until

    async def hit_ip(self, client_ip: str) -> Decision:
        rate = self.settings.rate_ip_per_second
        return _counted("ip", await self.hit(f"ip:{client_ip}", rate, math.ceil(rate)))

    async def hit_user_api(self, user_id: str) -> Decision:
        rate = self.settings.rate_api_per_second
        return _counted("api", await self.hit(f"api:{user_id}", rate, math.ceil(rate)))

    async def hit_message(self, user_id: str) -> Decision:
        """10 messages/s per user, bursts of 20 (DESIGN.md §4): one budget for REST and the socket."""
        settings = self.settings
        decision = await self.hit(
            f"msg:{user_id}", settings.rate_messages_per_second, settings.rate_messages_burst
        )
        return _counted("message", decision)

    async def hit_handshake(self, client_ip: str) -> Decision:
        """New Engine.IO sessions per client IP: each one holds server state before it authenticates."""
        settings = self.settings
        decision = await self.hit(
            f"hs:{client_ip}", settings.rate_handshakes_per_second, settings.rate_handshakes_burst
        )
        return _counted("handshake", decision)

    async def hit_typing(self, user_id: str, channel_id: str) -> Decision:
        rate = self.settings.rate_typing_per_second
        return _counted("typing", await self.hit(f"typing:{user_id}:{channel_id}", rate, math.ceil(rate)))

    async def enforce_message(self, user_id: str) -> None:
        """REST side of the message budget; raises RateLimited when over."""
        decision = await self.hit_message(user_id)
        if not decision.allowed:
            raise RateLimited(decision)

    async def enforce_user_api(self, user_id: str) -> None:
        """Called by the auth dependency once the user is known; raises RateLimited when over."""
        decision = await self.hit_user_api(user_id)
        if not decision.allowed:
            raise RateLimited(decision)

    def _note_fail_open(self, error: BaseException) -> None:
        record_rate_limit_fail_open()
        now = time.monotonic()
        self._skip_redis_until = now + FAIL_OPEN_BACKOFF
        if now - self._last_fail_open_log < FAIL_OPEN_LOG_INTERVAL:
            self._suppressed_fail_opens += 1
            return
        log.warning(
            "rate limits from this replica's own buckets: Redis did not answer in time (%s: %s); "
            "%d more since the last warning",
            type(error).__name__,
            error,
            self._suppressed_fail_opens,
        )
        self._last_fail_open_log = now
        self._suppressed_fail_opens = 0


def _counted(scope: str, decision: Decision) -> Decision:
    if not decision.allowed:
        record_rate_limit_hit(scope)
    return decision


def rate_limited_message(decision: Decision) -> str:
    return f"too many requests; retry after {decision.retry_after_header} s"


def rate_limited_body(decision: Decision) -> bytes:
    return json.dumps({"error": {"code": "rate_limited", "message": rate_limited_message(decision)}}).encode()


async def send_rate_limited(send: Send, decision: Decision) -> None:
    body = rate_limited_body(decision)
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", decision.retry_after_header.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class IPRateLimit:
    """Per-client-IP limit on HTTP requests (REST, static), 100/s by default. Runs inside the
    request-context middleware, which has already resolved the client IP from trusted proxies.

    Not limited here: the probes and /metrics, and Socket.IO (its long-polling requests are
    transport, not API calls; socket traffic is limited per user by `hit_message`)."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, socketio_path: str) -> None:
        self.app = app
        self.limiter = limiter
        self.socketio_path = socketio_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(self.socketio_path):
            await self.app(scope, receive, send)
            return
        context = request_context.get()
        client_ip = context.client_ip if context is not None else None
        if client_ip is not None:
            decision = await self.limiter.hit_ip(client_ip)
            if not decision.allowed:
                await send_rate_limited(send, decision)
                return
        await self.app(scope, receive, send)
