"""Local token minter (`relay token`, `make token`): signs Clerk-shaped tokens with a local RSA key.

It exists only in local mode: Settings refuses RELAY_LOCAL_SIGNING_KEY_FILE in any other
environment, and `mint_token` checks again so no caller can bypass that.
"""

import time
import uuid
from functools import lru_cache
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from relay.settings import Settings


class MinterDisabledError(RuntimeError):
    pass


def mint_token(settings: Settings, user_id: str, *, ttl: int = 3600, name: str | None = None) -> str:
    if settings.environment != "local" or settings.local_signing_key_file is None:
        raise MinterDisabledError(
            f"the token minter needs RELAY_ENVIRONMENT=local (now {settings.environment}) and "
            "RELAY_LOCAL_SIGNING_KEY_FILE set to an RSA private key PEM"
        )
    key_file = settings.local_signing_key_file
    private_key = _signing_key(key_file, key_file.stat().st_mtime_ns)
    now = int(time.time())
    claims = {
        "sub": user_id,
        "sid": f"sess_{uuid.uuid4().hex}",
        "iss": settings.auth_issuer,
        "azp": settings.allowed_origins[0],
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "name": name or user_id,
    }
    return jwt.encode(claims, private_key, algorithm="RS256")


@lru_cache(maxsize=4)
def _signing_key(path: Path, _modified_ns: int) -> rsa.RSAPrivateKey:
    """Parsed once per key file (and again when it changes): parsing and checking an RSA key costs
    tens of milliseconds, which a load generator minting for a thousand users pays at every mint."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise MinterDisabledError(f"RELAY_LOCAL_SIGNING_KEY_FILE={path} is not an RSA private key")
    return key


def generate_key_pair() -> tuple[bytes, bytes]:
    """A fresh RSA key pair as (private PEM, public PEM), for local set-up and tests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem
