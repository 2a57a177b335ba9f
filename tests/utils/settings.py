"""Settings for tests: the contract's local values, with overrides per test."""

from typing import Any

from relay.settings import Settings

PUBLIC_URL = "https://localhost:8443"
ALLOWED_ORIGIN = "https://localhost:8443"


def make_settings(redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "local",
        "redis_url": redis_url,
        "allowed_origins": ALLOWED_ORIGIN,
        "public_url": PUBLIC_URL,
        "replica_id": "test-replica",
    }
    values.update(overrides)
    return Settings(**values)
