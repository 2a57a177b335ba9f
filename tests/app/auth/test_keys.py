"""JWKS key source: cached, refetched on an unknown `kid` (rotation), and bounded against floods."""

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from relay.auth.keys import JwksKeys
from relay.auth.verifier import AuthError, TokenVerifier
from tests.utils.tokens import ISSUER, ORIGIN


class JwksServer:
    """A real HTTP server on 127.0.0.1 publishing whichever keys the test puts in `self.keys`."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                body = json.dumps(
                    {
                        "keys": [
                            {
                                **jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True),
                                "kid": kid,
                                "alg": "RS256",
                                "use": "sig",
                            }
                            for kid, key in server.keys.items()
                        ]
                    }
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add_key(self, kid: str) -> rsa.RSAPrivateKey:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self.keys[kid]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks():
    server = JwksServer()
    yield server
    server.close()


def _token(key: rsa.RSAPrivateKey, kid: str) -> str:
    now = int(time.time())
    claims = {"sub": "alice", "sid": "sess_1", "iss": ISSUER, "azp": ORIGIN, "nbf": now, "exp": now + 60}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_keys_are_cached_and_refetched_when_a_new_kid_appears(jwks) -> None:
    verifier = TokenVerifier(
        JwksKeys(jwks.url, min_refetch_interval=0.2), issuer=ISSUER, allowed_origins=[ORIGIN]
    )
    first = jwks.add_key("first")
    assert (await verifier.verify(_token(first, "first"))).user_id == "alice"
    await verifier.verify(_token(first, "first"))
    assert jwks.fetches == 1
    await asyncio.sleep(0.3)
    rotated = jwks.add_key("rotated")
    assert (await verifier.verify(_token(rotated, "rotated"))).user_id == "alice"
    assert jwks.fetches == 2


async def test_unknown_kids_cannot_make_every_request_fetch(jwks) -> None:
    verifier = TokenVerifier(
        JwksKeys(jwks.url, min_refetch_interval=30), issuer=ISSUER, allowed_origins=[ORIGIN]
    )
    key = jwks.add_key("real")
    await verifier.verify(_token(key, "real"))
    for n in range(20):
        with pytest.raises(AuthError, match="unknown signing key"):
            await verifier.verify(_token(key, f"made-up-{n}"))
    assert jwks.fetches == 1


async def test_unreachable_jwks_endpoint_is_a_401_reason_not_an_error(jwks) -> None:
    key = jwks.add_key("real")
    url = jwks.url
    jwks.close()
    verifier = TokenVerifier(JwksKeys(url, timeout=1), issuer=ISSUER, allowed_origins=[ORIGIN])
    with pytest.raises(AuthError, match="signing keys are unavailable"):
        await verifier.verify(_token(key, "real"))


async def test_jwks_endpoint_without_usable_keys_is_a_401_reason(jwks) -> None:
    key = jwks.add_key("real")
    jwks.keys = {}  # {"keys": []}: PyJWT refuses an empty key set
    verifier = TokenVerifier(JwksKeys(jwks.url, timeout=1), issuer=ISSUER, allowed_origins=[ORIGIN])
    with pytest.raises(AuthError, match="signing keys are unavailable"):
        await verifier.verify(_token(key, "real"))
