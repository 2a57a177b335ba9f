"""Settings are validated at start-up; each error names the variable and the fix."""

import os

import pytest
from pydantic import ValidationError

from relay.settings import Settings

VALID = {
    "environment": "local",
    "database_url": "postgresql+asyncpg://relay_app@127.0.0.1:5432/relay",
    "redis_url": "redis://127.0.0.1:6379/0",
    "s3_bucket": "uploads",
    "auth_issuer": "https://clerk.example",
    "auth_public_key": "-----BEGIN PUBLIC KEY-----",
    "allowed_origins": "https://localhost:8443",
    "public_url": "https://localhost:8443",
}


def _settings(monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    for name in list(os.environ):
        if name.startswith("RELAY_"):
            monkeypatch.delenv(name)
    for name, value in {**VALID, **values}.items():
        if value is not None:
            monkeypatch.setenv(f"RELAY_{name.upper()}", value)
    return Settings()


def test_valid_environment_parses_lists_and_defaults(monkeypatch) -> None:
    settings = _settings(monkeypatch, allowed_origins="https://a.example/, https://b.example")
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]
    assert settings.max_message_chars == 4000 and settings.max_dm_members == 8
    assert settings.effective_migration_url == settings.database_url
    assert settings.effective_hsts_seconds == 300


def test_socket_limits_default_to_design_section_4(monkeypatch) -> None:
    settings = _settings(monkeypatch)
    assert (settings.rate_handshakes_per_second, settings.rate_handshakes_burst) == (20, 40)
    assert settings.rate_typing_per_second == 3
    assert settings.socket_connect_timeout_seconds == 45


def test_replica_head_limits_default_to_haproxys(monkeypatch) -> None:
    settings = _settings(monkeypatch)
    assert settings.http_max_head_bytes == 16 * 1024
    assert (settings.http_head_timeout_seconds, settings.http_body_timeout_seconds) == (10, 10)


def test_a_load_run_can_raise_the_handshake_budget(monkeypatch) -> None:
    settings = _settings(monkeypatch, rate_handshakes_per_second="1000", rate_handshakes_burst="2000")
    assert (settings.rate_handshakes_per_second, settings.rate_handshakes_burst) == (1000, 2000)


def test_local_signing_key_outside_local_mode_refuses_to_start(monkeypatch, tmp_path) -> None:
    with pytest.raises(ValidationError, match="RELAY_LOCAL_SIGNING_KEY_FILE"):
        _settings(monkeypatch, environment="prod", local_signing_key_file=str(tmp_path / "key.pem"))


def test_missing_required_variable_is_named(monkeypatch) -> None:
    with pytest.raises(ValidationError, match="database_url"):
        _settings(monkeypatch, database_url=None)


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("database_url", "postgresql://x@h/db", "RELAY_DATABASE_URL"),
        ("redis_url", "http://h:6379", "RELAY_REDIS_URL"),
        ("trusted_proxies", "10.0.0.0/8,not-an-ip", "RELAY_TRUSTED_PROXIES"),
        ("auth_jwks_url", "https://clerk.example/.well-known/jwks.json", "RELAY_AUTH_JWKS_URL"),
        ("http_max_head_bytes", "512", "RELAY_HTTP_MAX_HEAD_BYTES"),
        ("http_max_head_bytes", "4194304", "RELAY_HTTP_MAX_HEAD_BYTES"),
        ("http_head_timeout_seconds", "0", "RELAY_HTTP_HEAD_TIMEOUT_SECONDS"),
        ("http_body_timeout_seconds", "600", "RELAY_HTTP_BODY_TIMEOUT_SECONDS"),
    ],
)
def test_invalid_values_name_the_variable(monkeypatch, name, value, named) -> None:
    with pytest.raises(ValidationError, match=named):
        _settings(monkeypatch, **{name: value})


def test_production_hsts_is_one_year(monkeypatch) -> None:
    assert _settings(monkeypatch, environment="prod").effective_hsts_seconds == 31_536_000
