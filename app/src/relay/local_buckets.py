"""In-process token buckets: what one replica enforces when Redis cannot answer in time.

Every take also lands here, whatever Redis says, so a bucket holds this replica's own recent use:
when Redis goes quiet (down, or only late because this event loop is busy under a flood), the
replica still refuses a flood instead of letting everything through (issue 7). Same arithmetic as
relay.bucket_store's script; a cluster then allows at most replicas x the budget, never unlimited.
"""

import time
from dataclasses import dataclass

from relay.bucket_store import ALLOWED, Decision

# Beyond this many live buckets a new key is not tracked (answered allowed): memory stays bounded
# when a wide flood of distinct keys arrives during a Redis outage.
MAX_BUCKETS = 50_000
# Every limit of the service refills within seconds (DESIGN §4), so a bucket idle this long is full,
# the same as a missing one. Pruning scans every bucket, hence at most once per interval.
IDLE_SECONDS = 60.0
PRUNE_INTERVAL_SECONDS = 1.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class LocalBuckets:
    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._next_prune = 0.0

    def take(self, key: str, rate: float, burst: int) -> Decision:
        """Take one token from `key` (refilled at `rate`/s, holding at most `burst`)."""
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS and not self._prune(now):
                return ALLOWED
            bucket = self._buckets[key] = _Bucket(float(burst), now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return ALLOWED
        return Decision(allowed=False, retry_after=(1 - bucket.tokens) / rate)

    def _prune(self, now: float) -> bool:
        """Forget idle (full) buckets; True if that made room for a new one."""
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_INTERVAL_SECONDS
            self._buckets = {key: b for key, b in self._buckets.items() if now - b.updated < IDLE_SECONDS}
        return len(self._buckets) < MAX_BUCKETS
