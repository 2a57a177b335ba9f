"""Redis-backed token buckets shared by every replica: per client IP, per user, per user's messages.

One Lua script refills and takes a token atomically in one round trip, using Redis' clock so
replicas with skewed clocks agree. When Redis does not answer, limits fail open (DESIGN.md §4):
a Redis blip must not take the API down. After a failure the limiter stops asking Redis for
FAIL_OPEN_BACKOFF, so an outage costs requests nothing; each fail-open is counted, and the log
says so at most once per FAIL_OPEN_LOG_INTERVAL so an outage does not flood the logs.
"""

import asyncio
import json
import logging
import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from relay.logging import request_context
from relay.metrics import record_rate_limit_fail_open, record_rate_limit_hit
from relay.settings import Settings

FAIL_OPEN_LOG_INTERVAL = 30.0
# After a failure, skip Redis this long: during an outage requests must not each wait for a timeout.
FAIL_OPEN_BACKOFF = 1.0
KEY_PREFIX = "relay:rl:"
# Paths never limited: probes must answer during a flood, and scrapers come from inside.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

log = logging.getLogger(__name__)

# KEYS[1] bucket; ARGV[1] tokens per second, ARGV[2] burst. Returns {allowed, retry_after_ms}.
# A bucket idle long enough to refill completely is equal to a missing one, so it expires then.
BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local last = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local allowed = 0
local retry_ms = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry_ms = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, retry_ms}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until a token is available; 0 when allowed

    @property
    def retry_after_header(self) -> str:
        """Retry-After is whole seconds, and 0 would invite an immediate retry."""
        return str(max(1, math.ceil(self.retry_after)))


ALLOWED = Decision(allowed=True, retry_after=0.0)


class RateLimited(Exception):
    """Raised by `RateLimiter.enforce_*`; the app's exception handler turns it into a 429."""

    def __init__(self, scope: str, decision: Decision) -> None:
        super().__init__(f"rate limit {scope!r} exceeded; retry after {decision.retry_after_header} s")
        self.scope = scope
        self.decision = decision


class RateLimiter:
    def __init__(self, redis: Redis, settings: Settings, *, timeout: float = 0.25) -> None:
        self.redis = redis
        self.settings = settings
        # Bounded wait: a hung Redis must cost a request at most this much before failing open.
        self.timeout = timeout
        self.script = redis.register_script(BUCKET_LUA)
        self._last_fail_open_log = -math.inf
        self._suppressed_fail_opens = 0
        self._skip_redis_until = -math.inf

    async def hit(self, key: str, rate: float, burst: int) -> Decision:
        """Take one token from bucket `key` (refilled at `rate`/s, holding at most `burst`)."""
        if time.monotonic() < self._skip_redis_until:
            record_rate_limit_fail_open()
            return ALLOWED
        try:
            async with asyncio.timeout(self.timeout):
                allowed, retry_ms = await self.script(keys=[KEY_PREFIX + key], args=[rate, burst])
        except (ConnectionError, TimeoutError, BusyLoadingError, OSError) as error:
            self._note_fail_open(error)
            return ALLOWED
        if allowed:
            return ALLOWED
        return Decision(allowed=False, retry_after=int(retry_ms) / 1000)

    async def hit_ip(self, client_ip: str) -> Decision:
        rate = self.settings.rate_ip_per_second
        return _counted("ip", await self.hit(f"ip:{client_ip}", rate, math.ceil(rate)))

    async def hit_user_api(self, user_id: str) -> Decision:
        rate = self.settings.rate_api_per_second
        return _counted("api", await self.hit(f"api:{user_id}", rate, math.ceil(rate)))

    async def hit_message(self, user_id: str) -> Decision:
        """For the socket handler: 10 messages/s per user, bursts of 20 (DESIGN.md §4)."""
        settings = self.settings
        decision = await self.hit(
            f"msg:{user_id}", settings.rate_messages_per_second, settings.rate_messages_burst
        )
        return _counted("message", decision)

    async def enforce_user_api(self, user_id: str) -> None:
        """Called by the auth dependency once the user is known; raises RateLimited when over."""
        decision = await self.hit_user_api(user_id)
        if not decision.allowed:
            raise RateLimited("api", decision)

    def _note_fail_open(self, error: BaseException) -> None:
        record_rate_limit_fail_open()
        now = time.monotonic()
        self._skip_redis_until = now + FAIL_OPEN_BACKOFF
        if now - self._last_fail_open_log < FAIL_OPEN_LOG_INTERVAL:
            self._suppressed_fail_opens += 1
            return
        log.warning(
            "rate limits failing open: Redis unreachable (%s: %s); %d more since the last warning",
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


def rate_limited_body(decision: Decision) -> bytes:
    return json.dumps(
        {
            "error": {
                "code": "rate_limited",
                "message": f"too many requests; retry after {decision.retry_after_header} s",
            }
        }
    ).encode()


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


async def rate_limited_handler(_request: Request, exc: Exception) -> Response:
    """FastAPI exception handler for RateLimited (per-user limits raised inside the app)."""
    assert isinstance(exc, RateLimited)
    return Response(
        rate_limited_body(exc.decision),
        status_code=429,
        media_type="application/json",
        headers={"Retry-After": exc.decision.retry_after_header},
    )


class IPRateLimit:
    """Per-client-IP limit on every HTTP request but the probes. Runs inside the request-context
    middleware, which has already resolved the client IP from trusted proxies."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
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
