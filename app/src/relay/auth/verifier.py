"""Networkless verification of session tokens (DESIGN §4), the same for REST and socket handshakes.

Only RS256 is accepted, so `alg: none` and HS256 signed with the public key as an HMAC secret fail
before any signature check. Every failure, whatever PyJWT or the key lookup raises, is an AuthError
with a short reason for the 401 body: a crafted token must never reach a 500 (issue 7).
"""

import json
import re
import time
from dataclasses import dataclass

import jwt
from jwt.utils import base64url_decode

from relay.auth.keys import KeyLookupError, KeySource

LEEWAY_SECONDS = 5
ALGORITHM = "RS256"
# Clerk session tokens live about 60 s; a token valid for more than a day was not minted for a session.
MAX_LIFETIME_SECONDS = 86_400
_NUMERIC_CLAIMS = ("exp", "nbf", "iat")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class AuthError(Exception):
    """The token was refused; `reason` is safe to return to the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    user_id: str
    session_id: str
    name: str
    expires_at: float


def _text(value: object) -> str:
    """Claim text safe for Postgres: no NUL, lone surrogates (valid JSON escapes) replaced."""
    return _LONE_SURROGATE.sub("\ufffd", str(value).replace("\x00", ""))


def _display_name(claims: dict) -> str:
    parts = (claims.get("first_name"), claims.get("last_name"))
    full = " ".join(part for part in parts if isinstance(part, str) and part)
    name = claims.get("name") or claims.get("username") or full or claims["sub"]
    return _text(name)[:255]


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        duplicate = next(key for key in keys if keys.count(key) > 1)
        raise AuthError(f"token repeats the key {duplicate[:40]!r}: each header and claim may appear once")
    return dict(pairs)


def _refuse_constant(name: str) -> None:
    raise AuthError(f"token holds {name}, which JSON does not allow")


def _check_strict_json(token: str) -> None:
    """PyJWT keeps the last of repeated JSON keys (two parsers could read two different tokens) and
    takes NaN/Infinity, which make its numeric checks overflow."""
    for segment in token.split(".")[:2]:
        try:
            json.loads(
                base64url_decode(segment),
                object_pairs_hook=_refuse_duplicate_keys,
                parse_constant=_refuse_constant,
            )
        except (ValueError, TypeError):
            raise AuthError("malformed token") from None


def _check_claim_shapes(claims: dict) -> None:
    for name in _NUMERIC_CLAIMS:
        value = claims.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise AuthError(f"token {name} is not a number of seconds")
    if claims["exp"] > time.time() + MAX_LIFETIME_SECONDS:
        raise AuthError("token exp is more than a day ahead: session tokens are short-lived")
    sid = claims["sid"]
    if not isinstance(sid, str) or not 0 < len(sid) <= 255 or "\x00" in sid:
        raise AuthError("token sid is not a session id (1-255 characters)")
    sub = claims["sub"]
    if not isinstance(sub, str) or not 0 < len(sub) <= 255 or "\x00" in sub:
        raise AuthError("token sub is not a user id (1-255 characters, no NUL)")


class TokenVerifier:
    def __init__(self, keys: KeySource, *, issuer: str, allowed_origins: list[str]) -> None:
        self._keys, self._issuer, self._origins = keys, issuer, frozenset(allowed_origins)

    async def verify(self, token: str | None) -> Identity:
        if not token:
            raise AuthError(
                "missing session token: send Authorization: Bearer <token> or the __session cookie"
            )
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise AuthError("malformed token") from None
        except jwt.PyJWTError as error:  # kid not a string, unsupported crit, ...
            raise AuthError(f"invalid token header: {error}") from None
        if header.get("alg") != ALGORITHM:
            raise AuthError(
                f"unsupported token algorithm {header.get('alg')!r}: only {ALGORITHM} is accepted"
            )
        _check_strict_json(token)
        try:
            key = await self._keys.key_for(header.get("kid"))
        except KeyLookupError as error:
            raise AuthError(error.reason) from None
        claims = self._decode(token, key)
        _check_claim_shapes(claims)
        azp = claims.get("azp")
        if not isinstance(azp, str) or azp not in self._origins:
            raise AuthError("token azp is not an allowed origin")
        return Identity(
            user_id=claims["sub"],
            session_id=claims["sid"],
            name=_display_name(claims),
            expires_at=float(claims["exp"]),
        )

    def _decode(self, token: str, key) -> dict:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "sub", "sid"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token not yet valid (nbf)") from None
        except jwt.InvalidIssuerError:
            raise AuthError("wrong token issuer") from None
        except jwt.MissingRequiredClaimError as error:
            raise AuthError(f"token lacks the {error.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise AuthError("bad token signature") from None
        except jwt.PyJWTError as error:  # PyJWT's own words name the claim (e.g. a non-string sub)
            raise AuthError(f"invalid token: {error}") from None
