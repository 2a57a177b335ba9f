"""Where verification keys come from: one PEM public key, or a JWKS endpoint cached in memory.

JWKS: keys are cached for `ttl` seconds and refetched when a token names an unknown `kid` (key
rotation), but at most once per `min_refetch_interval`, so tokens with made-up `kid`s cannot make
every request call the identity provider.
"""

import asyncio
import json
import logging
import time
import urllib.request
from typing import Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from relay.settings import Settings

log = logging.getLogger(__name__)


class KeyLookupError(LookupError):
    """No verification key for this token; `reason` is safe to return to the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeySource(Protocol):
    async def key_for(self, kid: str | None) -> RSAPublicKey: ...


class StaticKey:
    def __init__(self, pem: bytes, *, origin: str) -> None:
        key = load_pem_public_key(pem)
        if not isinstance(key, RSAPublicKey):
            raise ValueError(f"{origin} is not an RSA public key: session tokens are RS256")
        self._key = key

    async def key_for(self, kid: str | None) -> RSAPublicKey:
        return self._key


class JwksKeys:
    def __init__(self, url: str, *, ttl: float = 600, min_refetch_interval: float = 30, timeout: float = 3):
        self._url, self._ttl, self._min_interval, self._timeout = url, ttl, min_refetch_interval, timeout
        self._keys: dict[str, RSAPublicKey] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    def _download(self) -> dict[str, RSAPublicKey]:
        with urllib.request.urlopen(self._url, timeout=self._timeout) as response:  # noqa: S310  # URL from settings (AnyHttpUrl)
            document = json.load(response)
        keys = {}
        for jwk in jwt.PyJWKSet.from_dict(document).keys:
            if jwk.key_id and isinstance(jwk.key, RSAPublicKey):
                keys[jwk.key_id] = jwk.key
        return keys

    async def _refresh(self, *, forced: bool) -> None:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if age < (self._min_interval if forced else self._ttl):
                return
            self._keys = await asyncio.to_thread(self._download)
            self._fetched_at = time.monotonic()

    async def key_for(self, kid: str | None) -> RSAPublicKey:
        try:
            await self._refresh(forced=False)
            if kid not in self._keys:
                await self._refresh(forced=True)
        except (OSError, ValueError, jwt.PyJWTError) as error:  # unreachable, not JSON, not a JWKS
            log.warning("JWKS endpoint failed: %s: %s", type(error).__name__, error)
            raise KeyLookupError("signing keys are unavailable; retry shortly") from None
        try:
            return self._keys[kid] if kid is not None else next(iter(self._keys.values()))
        except (KeyError, StopIteration):
            raise KeyLookupError("unknown signing key (kid)") from None


def key_source(settings: Settings) -> KeySource:
    if settings.auth_public_key_file is not None:
        return StaticKey(settings.auth_public_key_file.read_bytes(), origin="RELAY_AUTH_PUBLIC_KEY_FILE")
    if settings.auth_public_key is not None:
        return StaticKey(settings.auth_public_key.encode(), origin="RELAY_AUTH_PUBLIC_KEY")
    assert settings.auth_jwks_url is not None  # Settings requires exactly one key source
    return JwksKeys(str(settings.auth_jwks_url))
