"""Session tokens for tests: a local RSA key pair (PEM files) and a minter with overridable claims."""

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt

from relay.auth.minter import generate_key_pair

ISSUER = "https://clerk.relay.test"
ORIGIN = "https://localhost:8443"


@dataclass(frozen=True)
class SigningKeys:
    private_file: Path
    public_file: Path
    # What the verifying relay expects in `iss` and `azp` (a topology has its own URL for both).
    issuer: str = ISSUER
    origin: str = ORIGIN

    @classmethod
    def create(cls, directory: Path) -> "SigningKeys":
        private_pem, public_pem = generate_key_pair()
        directory.mkdir(parents=True, exist_ok=True)
        keys = cls(directory / "signing-key.pem", directory / "signing-key.pub.pem")
        keys.private_file.write_bytes(private_pem)
        keys.public_file.write_bytes(public_pem)
        return keys

    def claims(self, sub: str, **overrides: object) -> dict:
        now = int(time.time())
        claims = {
            "sub": sub,
            "sid": f"sess_{uuid.uuid4().hex}",
            "iss": self.issuer,
            "azp": self.origin,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "name": sub.title(),
        }
        claims.update(overrides)
        return {key: value for key, value in claims.items() if value is not None}

    def mint(self, sub: str, *, headers: dict | None = None, **overrides: object) -> str:
        """A valid RS256 token for `sub`; pass claim=None to drop a claim, claim=value to change it."""
        return jwt.encode(
            self.claims(sub, **overrides), self.private_file.read_bytes(), algorithm="RS256", headers=headers
        )


def new_user_id(prefix: str = "user") -> str:
    """Unique per call, so tests share one database without seeing each other's data."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
