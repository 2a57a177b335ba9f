"""Networkless verification of session tokens (DESIGN §4), the same for REST and socket handshakes.

Only RS256 is accepted, so `alg: none` and HS256 signed with the public key as an HMAC secret fail
before any signature check. Every failure carries a short reason for the 401 body.
"""

from dataclasses import dataclass

import jwt

from relay.auth.keys import KeySource, UnknownKeyError

LEEWAY_SECONDS = 5
ALGORITHM = "RS256"


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


def _display_name(claims: dict) -> str:
    full = " ".join(part for part in (claims.get("first_name"), claims.get("last_name")) if part)
    name = str(claims.get("name") or claims.get("username") or full or claims["sub"])
    return name.replace("\x00", "")[:255]


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
        if header.get("alg") != ALGORITHM:
            raise AuthError(
                f"unsupported token algorithm {header.get('alg')!r}: only {ALGORITHM} is accepted"
            )
        try:
            key = await self._keys.key_for(header.get("kid"))
        except UnknownKeyError:
            raise AuthError("unknown signing key (kid)") from None
        claims = self._decode(token, key)
        if claims.get("azp") not in self._origins:
            raise AuthError("token azp is not an allowed origin")
        sub = claims["sub"]
        if not isinstance(sub, str) or not 0 < len(sub) <= 255 or "\x00" in sub:
            raise AuthError("token sub is not a user id (1-255 characters, no NUL)")
        return Identity(user_id=claims["sub"], session_id=str(claims["sid"]), name=_display_name(claims))

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
        except jwt.InvalidTokenError:
            raise AuthError("invalid token") from None
