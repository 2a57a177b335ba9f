"""Service settings, read once from RELAY_* environment variables and validated at start-up.

Fields without a safe value have no default, so a missing variable stops start-up with its name.
Every validator names the variable and the fix (STYLE.md §2).
"""

import base64
import binascii
import ipaddress
import re
import socket
from pathlib import Path
from typing import Annotated, Literal

from cryptography.hazmat.primitives import serialization
from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# app/src/relay/settings.py -> app/migrations in a source checkout; the image sets RELAY_MIGRATIONS_DIR.
_SOURCE_MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
# The built web client (`make web`) in a source checkout; the image sets RELAY_WEB_DIR.
_SOURCE_WEB = Path(__file__).resolve().parents[2] / "web" / "dist"

CommaList = Annotated[list[str], NoDecode]
UploadTypes = Annotated[dict[str, int], NoDecode]
MiB = 1024 * 1024
# Raster images show inline; everything else downloads (Content-Disposition: attachment).
DEFAULT_UPLOAD_TYPES = {
    "image/png": 10 * MiB,
    "image/jpeg": 10 * MiB,
    "image/gif": 10 * MiB,
    "image/webp": 10 * MiB,
    "application/pdf": 25 * MiB,
    "text/plain": 1 * MiB,
    "application/zip": 50 * MiB,
}
# Below 1 KiB a browser's ordinary cookies and headers do not fit; above 1 MiB the limit protects nothing.
HEAD_BYTES_RANGE = (1024, 1024 * 1024)
# Every request is answered or closed within ping interval (25 s) + 5 s (issue 7).
MAX_READ_TIMEOUT_SECONDS = 30.0


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELAY_", env_ignore_empty=True, extra="ignore")

    # No default: local mode is chosen explicitly (make up sets it).
    environment: Literal["local", "staging", "prod"]
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    database_url: str
    migration_database_url: str | None = None
    database_pool_size: int = Field(default=10, ge=1, le=200)
    # A request's or a message send's database work (the wait for a pooled connection included)
    # ends by then with a retryable 503 "unavailable": clients give up on an answer at 10 s (DESIGN §4).
    database_deadline_seconds: float = Field(default=8.0, gt=0, le=60)
    migrations_dir: Path = _SOURCE_MIGRATIONS
    redis_url: str
    # Per process; callers wait (2 s at most) for a free connection rather than fail.
    redis_pool_size: int = Field(default=50, ge=4, le=1000)
    s3_bucket: str
    s3_region: str = "us-east-1"
    s3_endpoint_url: AnyHttpUrl | None = None
    # Uploads (DESIGN §4): allowed content types, each with its own size limit in bytes.
    upload_types: UploadTypes = Field(default_factory=lambda: dict(DEFAULT_UPLOAD_TYPES))
    upload_url_seconds: int = Field(default=300, ge=10, le=3600)  # presigned POST lifetime
    download_url_seconds: int = Field(default=300, ge=10, le=3600)  # signed read URL lifetime
    # How often a replica retries removing deleted messages' files while S3 was unreachable.
    object_sweep_seconds: float = Field(default=30.0, ge=0.5, le=3600)
    # CloudFront signed URLs for reads (infra sets all three); unset: S3 presigned GET.
    cdn_domain: str | None = None
    cdn_key_pair_id: str | None = None
    cdn_private_key: SecretStr | None = None
    # Error reports from the web client (POST /api/client-errors), per user; bursts of 10x the rate.
    client_errors_per_second: float = Field(default=1, gt=0)

    auth_issuer: str
    auth_public_key_file: Path | None = None
    auth_public_key: str | None = None
    auth_jwks_url: AnyHttpUrl | None = None
    local_signing_key_file: Path | None = None

    web_dir: Path = _SOURCE_WEB
    # Clerk's publishable key (pk_live_… / pk_test_…): the page loads Clerk's browser SDK from the
    # Frontend API host the key encodes. Unset: local mode's token form (and no sign-in elsewhere).
    clerk_publishable_key: str | None = None

    allowed_origins: CommaList
    public_url: AnyHttpUrl
    trusted_proxies: CommaList = ["127.0.0.1"]
    replica_id: str = Field(default_factory=socket.gethostname)
    sentry_dsn: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Seconds /healthz answers 503 "draining" after SIGTERM so load balancers stop routing first.
    drain_seconds: float = Field(default=5.0, ge=0, le=120)
    # A killed replica's users turn offline within this many seconds (plus one sweep); < 60 s (issue 2).
    presence_ttl_seconds: float = Field(default=45.0, ge=2, le=50)

    max_message_chars: int = Field(default=4000, ge=1)
    max_body_bytes: int = Field(default=65536, ge=1024)
    max_dm_members: int = Field(default=8, ge=2)
    rate_messages_per_second: float = Field(default=10, gt=0)
    rate_messages_burst: int = Field(default=20, ge=1)
    rate_api_per_second: float = Field(default=50, gt=0)
    rate_ip_per_second: float = Field(default=100, gt=0)
    # Engine.IO handshakes per client IP (DESIGN §4): load runs from one address raise both.
    rate_handshakes_per_second: float = Field(default=20, gt=0)
    rate_handshakes_burst: int = Field(default=40, ge=1)
    rate_typing_per_second: float = Field(default=3, gt=0)
    # A session that has not sent the Socket.IO CONNECT by then is closed (the reference's connectTimeout).
    socket_connect_timeout_seconds: float = Field(default=45, gt=0, le=300)
    # Which server speaks Socket.IO at /api/socketio (issue 13): Relay's own (relay.realtime.wire),
    # which also listens on RELAY_SOCKET_PORT when set, so the load balancer can route the socket path
    # to a listener uvicorn never sees; or python-socketio inside the ASGI app, kept as the fallback.
    socket_server: Literal["native", "python-socketio"] = "native"
    socket_port: int | None = Field(default=None, ge=1, le=65535)
    # Unsent bytes per socket before it counts as a slow consumer and is closed (native server).
    socket_max_buffer_bytes: int = Field(default=1_048_576, ge=65536)
    # The replica port's own request limits (relay.http_protocol), haproxy's values by default:
    # request line + headers at most this many bytes (else 431), read within this many seconds
    # (else 408), and a body's bytes arriving within this many seconds of its headers (else 408).
    http_max_head_bytes: int = 16 * 1024
    http_head_timeout_seconds: float = 10.0
    http_body_timeout_seconds: float = 10.0
    hsts_seconds: int | None = None

    _split_lists = field_validator("allowed_origins", "trusted_proxies", mode="before")(_split_commas)

    @field_validator("upload_types", mode="before")
    @classmethod
    def _upload_types(cls, value: object) -> object:
        """RELAY_UPLOAD_TYPES is `type=bytes,type=bytes`, e.g. image/png=10485760,application/pdf=26214400."""
        if not isinstance(value, str):
            return value
        types: dict[str, int] = {}
        for item in _split_commas(value):
            content_type, _, size = item.partition("=")
            if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", content_type.strip()) or not size.strip().isdigit():
                raise ValueError(
                    f"RELAY_UPLOAD_TYPES entry {item!r} is not type/subtype=max_bytes; "
                    "write e.g. image/png=10485760,application/pdf=26214400"
                )
            types[content_type.strip().lower()] = int(size)
        return types

    @field_validator("http_max_head_bytes")
    @classmethod
    def _head_bytes(cls, value: int) -> int:
        if not HEAD_BYTES_RANGE[0] <= value <= HEAD_BYTES_RANGE[1]:
            raise ValueError(
                f"RELAY_HTTP_MAX_HEAD_BYTES={value} is outside {HEAD_BYTES_RANGE[0]}..{HEAD_BYTES_RANGE[1]}: "
                "set it to the largest request line + headers a client may send (default 16384, "
                "haproxy's tune.bufsize)"
            )
        return value

    @field_validator("http_head_timeout_seconds", "http_body_timeout_seconds")
    @classmethod
    def _read_timeout(cls, value: float, info) -> float:
        if not 0 < value <= MAX_READ_TIMEOUT_SECONDS:
            raise ValueError(
                f"RELAY_{info.field_name.upper()}={value:g} must be above 0 and at most "
                f"{MAX_READ_TIMEOUT_SECONDS:g} s (a request is answered within the ping interval + 5 s); "
                "the default is 10"
            )
        return value

    @field_validator("clerk_publishable_key")
    @classmethod
    def _clerk_key(cls, value: str | None) -> str | None:
        if value is not None:
            clerk_frontend_host(value)
        return value

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _asyncpg_url(cls, value: str | None, info) -> str | None:
        if value is not None and not value.startswith("postgresql+asyncpg://"):
            raise ValueError(
                f"RELAY_{info.field_name.upper()} must start with postgresql+asyncpg:// "
                f"(got {value.split('://')[0]}://); the service talks to Postgres through asyncpg"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://")):
            raise ValueError("RELAY_REDIS_URL must start with redis:// or rediss:// (TLS, as in AWS)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as error:
                raise ValueError(
                    f"RELAY_TRUSTED_PROXIES entry {item!r} is not an IP address or CIDR: {error}"
                ) from error
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(
                "RELAY_ALLOWED_ORIGINS is empty: list the web origins, e.g. https://localhost:8443"
            )
        return [origin.rstrip("/") for origin in value]

    @model_validator(mode="after")
    def _coherent(self) -> "Settings":
        key_sources = [self.auth_public_key_file, self.auth_public_key, self.auth_jwks_url]
        if sum(source is not None for source in key_sources) != 1:
            raise ValueError(
                "set exactly one of RELAY_AUTH_PUBLIC_KEY_FILE, RELAY_AUTH_PUBLIC_KEY or RELAY_AUTH_JWKS_URL "
                "(the key that verifies session tokens)"
            )
        if self.local_signing_key_file is not None and self.environment != "local":
            raise ValueError(
                f"RELAY_LOCAL_SIGNING_KEY_FILE is set while RELAY_ENVIRONMENT={self.environment}: the local "
                "token minter exists only in local mode; unset RELAY_LOCAL_SIGNING_KEY_FILE"
            )
        if self.s3_endpoint_url is not None and self.environment != "local":
            raise ValueError(
                "RELAY_S3_ENDPOINT_URL points at an S3-compatible server, which is for local mode only; "
                f"unset it for RELAY_ENVIRONMENT={self.environment}"
            )
        if self.cdn_private_key is not None and (self.cdn_domain is None or self.cdn_key_pair_id is None):
            raise ValueError(
                "RELAY_CDN_PRIVATE_KEY is set without RELAY_CDN_DOMAIN and RELAY_CDN_KEY_PAIR_ID: set both "
                "(the CloudFront files domain and its public key id) or unset the private key"
            )
        return self

    @field_validator("cdn_private_key")
    @classmethod
    def _cdn_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                serialization.load_pem_private_key(value.get_secret_value().encode(), password=None)
            except (ValueError, TypeError):
                raise ValueError(
                    "RELAY_CDN_PRIVATE_KEY is not an unencrypted PEM private key; set it to the CloudFront "
                    "signer's key (pulumi config set --secret relay:cdnSignerPrivateKeyPem)"
                ) from None
        return value

    @property
    def cdn_signing(self) -> bool:
        """CloudFront signed URLs need all three RELAY_CDN_* values; otherwise reads are S3 presigned GETs."""
        return None not in (self.cdn_domain, self.cdn_key_pair_id, self.cdn_private_key)

    @property
    def clerk_origin(self) -> str | None:
        """https://<Clerk Frontend API host>, from the publishable key; None without Clerk."""
        key = self.clerk_publishable_key
        return f"https://{clerk_frontend_host(key)}" if key else None

    @property
    def effective_migration_url(self) -> str:
        return self.migration_database_url or self.database_url

    @property
    def effective_hsts_seconds(self) -> int:
        """1 year in staging/prod; 300 s locally so a browser is not pinned to a self-signed cert."""
        if self.hsts_seconds is not None:
            return self.hsts_seconds
        return 300 if self.environment == "local" else 31_536_000


def clerk_frontend_host(key: str) -> str:
    """A Clerk publishable key is pk_(test|live)_ + base64("<frontend api host>$")."""
    encoded = key.partition("_")[2].partition("_")[2]
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    host = decoded.removesuffix("$")
    if (
        not key.startswith(("pk_test_", "pk_live_"))
        or not decoded.endswith("$")
        or not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", host)
    ):
        raise ValueError(
            "RELAY_CLERK_PUBLISHABLE_KEY is not a Clerk publishable key (pk_live_… or pk_test_…, "
            "as the Clerk dashboard shows under API keys); copy it from there, or unset it in local mode"
        )
    return host


def load_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]  # values come from the environment
