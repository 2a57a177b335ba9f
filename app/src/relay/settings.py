"""Service settings, read once from RELAY_* environment variables and validated at start-up."""

import ipaddress
import socket
from typing import Annotated, Literal, Self

from pydantic import AnyHttpUrl, Field, RedisDsn, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

HSTS_PRODUCTION_SECONDS = 31_536_000
# Local mode serves a self-signed localhost certificate: a short HSTS keeps browsers from being pinned to it.
HSTS_LOCAL_SECONDS = 300


def _split_comma_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELAY_", env_ignore_empty=True, extra="ignore")

    # No default: local mode is chosen explicitly (make up sets it).
    environment: Literal["local", "staging", "prod"]
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    redis_url: RedisDsn

    # Edge: CORS, CSP, client IP, logs and limits (DESIGN.md §4, SERVICE-CONTRACT.md settings table).
    allowed_origins: Annotated[list[str], NoDecode]
    public_url: AnyHttpUrl
    trusted_proxies: Annotated[list[ipaddress.IPv4Network | ipaddress.IPv6Network], NoDecode] = Field(
        default_factory=lambda: [ipaddress.ip_network("127.0.0.1")]
    )
    replica_id: str = Field(default_factory=socket.gethostname)
    sentry_dsn: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_message_chars: int = Field(default=4000, ge=1)
    max_body_bytes: int = Field(default=65_536, ge=1)
    max_dm_members: int = Field(default=8, ge=2)
    rate_messages_per_second: float = Field(default=10, gt=0)
    rate_messages_burst: int = Field(default=20, ge=1)
    rate_api_per_second: float = Field(default=50, gt=0)
    rate_ip_per_second: float = Field(default=100, gt=0)
    # Derived from the environment when unset: see _derive_hsts_seconds.
    hsts_seconds: int | None = Field(default=None, ge=0)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _parse_origin_list(cls, value: object) -> object:
        return _split_comma_list(value)

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not origin.startswith(("https://", "http://")) or origin.count("/") != 2:
                raise ValueError(
                    f"RELAY_ALLOWED_ORIGINS entry {origin!r} is not an origin: "
                    "use scheme://host[:port] without a path, e.g. https://localhost:8443"
                )
        return origins

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        value = _split_comma_list(value)
        if not isinstance(value, list):
            return value
        try:
            return [
                ipaddress.ip_network(item, strict=False) if isinstance(item, str) else item for item in value
            ]
        except ValueError as error:
            raise ValueError(
                f"RELAY_TRUSTED_PROXIES: {error}; "
                "give a comma list of IPs or CIDRs, e.g. 10.0.0.0/16,127.0.0.1"
            ) from error

    @model_validator(mode="after")
    def _derive_hsts_seconds(self) -> Self:
        if self.hsts_seconds is None:
            self.hsts_seconds = HSTS_LOCAL_SECONDS if self.environment == "local" else HSTS_PRODUCTION_SECONDS
        return self


def load_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]  # values come from the environment
