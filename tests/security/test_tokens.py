"""Hostile session tokens (issue 7, findings 2 and 13): crafted headers, odd claim shapes and
duplicate keys are each a 401 with a reason, by bearer, by cookie and at the socket handshake;
odd claims that a validly signed token may carry answer 200 or 401, never 500."""

import functools
import json
import time

import httpx
import jwt
import pytest
import socketio
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.security.attacks import ANSWER_WITHIN, signed, signed_claims
from tests.utils.tokens import ORIGIN, new_user_id


@functools.cache
def attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def crafted_headers(keys) -> dict[str, tuple[str, str]]:
    """attack -> (token, words the 401 reason contains); each token's claims are valid."""
    claims = keys.claims(new_user_id("hdr"))
    attacker = attacker_key()
    attacker_signed = lambda header: jwt.encode(claims, attacker, algorithm="RS256", headers=header)  # noqa: E731
    return {
        "kid_as_integer": (signed_claims(keys, claims, {"alg": "RS256", "kid": 123}), "Key ID"),
        "kid_as_list": (signed_claims(keys, claims, {"alg": "RS256", "kid": ["a", "b"]}), "Key ID"),
        "kid_as_object": (signed_claims(keys, claims, {"alg": "RS256", "kid": {"$ne": ""}}), "Key ID"),
        "crit_unknown_extension": (signed_claims(keys, claims, {"alg": "RS256", "crit": ["exp"]}), "crit"),
        "crit_as_string": (signed_claims(keys, claims, {"alg": "RS256", "crit": "b64"}), "crit"),
        "alg_as_list": (signed_claims(keys, claims, {"alg": ["RS256"]}), "algorithm"),
        "header_not_an_object": (signed(keys, '["RS256"]', json.dumps(claims)), "malformed"),
        "jku_to_attacker_keys": (
            attacker_signed({"jku": "https://evil.example/jwks.json", "kid": "evil"}),
            "signature",
        ),
        "x5u_to_attacker_cert": (attacker_signed({"x5u": "https://evil.example/cert.pem"}), "signature"),
        "embedded_attacker_jwk": (
            attacker_signed({"jwk": jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key(), as_dict=True)}),
            "signature",
        ),
    }


def raw_claim(keys, claims: dict, name: str, json_text: str) -> str:
    """Signed claims where `name` holds `json_text` verbatim (NaN, escapes json.dumps never writes)."""
    marker = "__raw_claim__"
    payload = json.dumps({**claims, name: marker}).replace(f'"{marker}"', json_text)
    return signed(keys, '{"alg": "RS256", "typ": "JWT"}', payload)


def odd_claims(keys) -> dict[str, tuple[str, str]]:
    """attack -> (token signed by the real key, words the 401 reason contains)."""
    now = int(time.time())
    sub = new_user_id("claims")
    base = keys.claims(sub)
    payload = lambda **changes: signed_claims(keys, {**base, **changes})  # noqa: E731
    raw = lambda name, text: raw_claim(keys, base, name, text)  # noqa: E731
    header = '{"alg": "RS256", "typ": "JWT"}'
    return {
        "empty_sid": (payload(sid=""), "sid"),
        "sid_as_number": (payload(sid=42), "sid"),
        "exp_as_numeric_string": (payload(exp=str(now + 600)), "exp"),
        "exp_as_boolean": (payload(exp=True), "exp"),
        "exp_more_than_a_day_ahead": (payload(exp=now + 2 * 86_400), "more than a day"),
        "exp_in_the_year_9999": (payload(exp=253_402_300_799), "more than a day"),
        "exp_nan": (raw("exp", "NaN"), "JSON"),
        "exp_infinity": (raw("exp", "Infinity"), "JSON"),
        "nbf_as_string": (payload(nbf="yesterday"), "invalid token"),
        "azp_as_list": (payload(azp=[ORIGIN]), "azp"),
        "azp_as_object": (payload(azp={"origin": ORIGIN}), "azp"),
        "sub_as_number": (payload(sub=12345), "Subject must be a string"),
        "sub_empty": (payload(sub=""), "sub"),
        "duplicate_sub_in_payload": (
            signed(keys, header, json.dumps(base)[:-1] + ', "sub": "admin"}'),
            "repeats the key 'sub'",
        ),
        "duplicate_alg_in_header": (
            signed(keys, '{"alg": "none", "alg": "RS256"}', json.dumps(base)),
            "repeats the key 'alg'",
        ),
    }


def get_me(url: str, token: str, *, cookie: bool = False) -> httpx.Response:
    if cookie:
        return httpx.get(f"{url}/api/me", cookies={"__session": token}, timeout=ANSWER_WITHIN)
    return httpx.get(f"{url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=ANSWER_WITHIN)


def assert_refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, (response.status_code, response.text)
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert reason in error["message"], error["message"]


HEADER_ATTACKS = [
    "kid_as_integer",
    "kid_as_list",
    "kid_as_object",
    "crit_unknown_extension",
    "crit_as_string",
    "alg_as_list",
    "header_not_an_object",
    "jku_to_attacker_keys",
    "x5u_to_attacker_cert",
    "embedded_attacker_jwk",
]
CLAIM_ATTACKS = [
    "empty_sid",
    "sid_as_number",
    "exp_as_numeric_string",
    "exp_as_boolean",
    "exp_more_than_a_day_ahead",
    "exp_in_the_year_9999",
    "exp_nan",
    "exp_infinity",
    "nbf_as_string",
    "azp_as_list",
    "azp_as_object",
    "sub_as_number",
    "sub_empty",
    "duplicate_sub_in_payload",
    "duplicate_alg_in_header",
]


@pytest.mark.parametrize("attack", HEADER_ATTACKS)
def test_crafted_token_header_is_401_by_bearer(attack, relay_server, signing_keys) -> None:
    token, reason = crafted_headers(signing_keys)[attack]
    assert_refused(get_me(relay_server.url, token), reason)


@pytest.mark.parametrize("attack", ["kid_as_integer", "kid_as_list", "crit_unknown_extension"])
def test_crafted_token_header_is_401_by_cookie(attack, relay_server, signing_keys) -> None:
    token, reason = crafted_headers(signing_keys)[attack]
    assert_refused(get_me(relay_server.url, token, cookie=True), reason)


@pytest.mark.parametrize("attack", CLAIM_ATTACKS)
def test_odd_claim_shape_is_401_with_a_reason(attack, relay_server, signing_keys) -> None:
    token, reason = odd_claims(signing_keys)[attack]
    assert_refused(get_me(relay_server.url, token), reason)


def test_name_with_a_lone_surrogate_is_stored_replaced(relay_server, signing_keys) -> None:
    sub = new_user_id("surrogate")
    token = raw_claim(signing_keys, signing_keys.claims(sub), "name", '"ev\\ud800il"')
    response = get_me(relay_server.url, token)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "ev\ufffdil"


def test_name_and_first_name_of_other_json_types_are_not_a_500(relay_server, signing_keys) -> None:
    sub = new_user_id("shapes")
    token = signed_claims(signing_keys, signing_keys.claims(sub, name=None, first_name=7, last_name=["x"]))
    response = get_me(relay_server.url, token)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == sub


@pytest.mark.parametrize("attack", ["kid_as_integer", "crit_unknown_extension", "duplicate_sub_in_payload"])
async def test_crafted_token_is_a_connect_error_at_the_socket(attack, lb_socket, topology_keys) -> None:
    token, reason = {**crafted_headers(topology_keys), **odd_claims(topology_keys)}[attack]
    user = lb_socket(token)
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await user.connect()
    finally:
        await user.close()
    assert user.refusal is not None, "the handshake was never answered"
    assert reason in user.refusal["message"], user.refusal
