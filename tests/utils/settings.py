"""Settings for tests: the contract's local values, with overrides per test."""

from typing import Any

from relay.settings import Settings

PUBLIC_URL = "https://localhost:8443"
ALLOWED_ORIGIN = "https://localhost:8443"


def make_settings(redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "local",
        "redis_url": redis_url,
        # Required by Settings, never contacted by the edge tests (they build no database engine).
        "database_url": "postgresql+asyncpg://relay_app@127.0.0.1:5432/relay_edge_unused",
        "s3_bucket": "relay-edge-unused",
        "auth_issuer": "https://clerk.relay.test",
        "auth_public_key": "unused by the edge tests",
        "allowed_origins": ALLOWED_ORIGIN,
        "public_url": PUBLIC_URL,
        "replica_id": "test-replica",
    }
    values.update(overrides)
    return Settings(**values)
