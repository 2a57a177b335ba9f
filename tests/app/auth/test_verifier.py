"""Session-token checks on REST (DESIGN §4): each refusal is a 401 with a reason in the error body."""

import base64
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.utils.tokens import new_user_id


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "admin"
    return f"{header}.{_b64(claims)}.{signature}"


def bad_tokens(keys) -> dict[str, tuple[str, str]]:
    """name -> (token, words the 401 reason must contain)."""
    now = int(time.time())
    sub = new_user_id()
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "expired": (keys.mint(sub, exp=now - 60, iat=now - 120, nbf=now - 120), "expired"),
        "not_yet_valid": (keys.mint(sub, nbf=now + 60), "not yet valid"),
        "wrong_issuer": (keys.mint(sub, iss="https://evil.example"), "issuer"),
        "wrong_azp": (keys.mint(sub, azp="https://evil.example"), "azp"),
        "missing_sid": (keys.mint(sub, sid=None), "sid"),
        "alg_none": (f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(keys.claims(sub))}.", "algorithm"),
        "hs256_with_public_key": (
            f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(keys.claims(sub))}.c2lnbmF0dXJl",
            "algorithm",
        ),
        "tampered_payload": (_tampered(keys.mint(sub)), "signature"),
        "other_key": (jwt.encode(keys.claims(sub), other_key, algorithm="RS256"), "signature"),
        "garbage": ("not-a-token", "malformed"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not_yet_valid",
        "wrong_issuer",
        "wrong_azp",
        "missing_sid",
        "alg_none",
        "hs256_with_public_key",
        "tampered_payload",
        "other_key",
        "garbage",
    ],
)
def test_bad_token_is_401_with_a_reason(case, relay_server, signing_keys) -> None:
    token, reason = bad_tokens(signing_keys)[case]
    response = httpx.get(f"{relay_server.url}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert reason in error["message"], error["message"]


def test_missing_token_is_401(relay_server) -> None:
    response = httpx.get(f"{relay_server.url}/api/me")
    assert response.status_code == 401
    assert "missing" in response.json()["error"]["message"]


def test_session_cookie_is_accepted(relay_server, signing_keys) -> None:
    user_id = new_user_id()
    response = httpx.get(f"{relay_server.url}/api/me", cookies={"__session": signing_keys.mint(user_id)})
    assert response.status_code == 200 and response.json()["id"] == user_id


def test_clock_skew_within_five_seconds_is_tolerated(relay_server, signing_keys) -> None:
    token = signing_keys.mint(new_user_id(), nbf=int(time.time()) + 3)
    response = httpx.get(f"{relay_server.url}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
