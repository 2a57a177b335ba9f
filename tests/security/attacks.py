"""Shared tools of the hostile-input cases in this directory: a relay with the production limits,
raw Engine.IO polling, hand-forged tokens and the in-flight gauge.

Every request carries an explicit timeout below ping interval + 5 s (30 s): an attack that is
never answered fails the test instead of hanging it.
"""

import base64
import contextlib
import functools
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.utils.relay_process import RelayProcess
from tests.utils.tokens import SigningKeys

SOCKETIO = "/api/socketio/"
ANSWER_WITHIN = 10.0  # seconds; well inside ping interval (25 s) + 5 s
# Short, so the "closed if not authenticated" case runs in seconds; the 45 s default is a unit test.
CONNECT_TIMEOUT_SECONDS = 2
_IN_FLIGHT = re.compile(r"^relay_http_requests_in_flight (\S+)$", re.MULTILINE)


@contextlib.contextmanager
def limited_relay(relay_env: dict[str, str], log_dir: Path, name: str) -> Iterator[RelayProcess]:
    """A replica with DESIGN §4's default limits (the shared test servers raise the handshake one),
    logging every answer for the suite's guards (pass it to `response_log.watch`)."""
    env = {
        **relay_env,
        "RELAY_LOG_LEVEL": "INFO",
        "RELAY_RATE_HANDSHAKES_PER_SECOND": "20",
        "RELAY_RATE_HANDSHAKES_BURST": "40",
        "RELAY_SOCKET_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT_SECONDS),
    }
    with RelayProcess.start(env, log_dir, name=name) as server:
        yield server


def client_from(address: str, base_url: str) -> httpx.AsyncClient:
    """A client whose connections leave from `address` (any 127.0.0.0/8 host), so each attack has
    a client IP, and so a per-IP budget, of its own."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=ANSWER_WITHIN)


def fresh_loopback() -> str:
    """A loopback address no other test uses (127.0.0.0/8 all reaches the replica on Linux)."""
    raw = uuid.uuid4().bytes
    return f"127.{raw[0]}.{raw[1]}.{max(2, raw[2] % 254)}"


async def open_polling_session(client: httpx.AsyncClient) -> str:
    """Engine.IO v4 handshake over long-polling; returns the sid."""
    response = await client.get(SOCKETIO, params={"EIO": "4", "transport": "polling"})
    assert response.status_code == 200, response.text
    assert response.text.startswith("0"), response.text
    return json.loads(response.text[1:])["sid"]


def polling(sid: str) -> dict[str, str]:
    return {"EIO": "4", "transport": "polling", "sid": sid}


async def in_flight(base_url: str) -> float:
    async with httpx.AsyncClient(timeout=ANSWER_WITHIN) as client:
        text = (await client.get(f"{base_url}/metrics")).text
    match = _IN_FLIGHT.search(text)
    assert match, "relay_http_requests_in_flight missing from /metrics"
    return float(match.group(1))


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@functools.cache
def _private_key(path: Path) -> rsa.RSAPrivateKey:
    """Loaded once: parsing a PEM private key checks the key and costs tens of milliseconds."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def signed(keys: SigningKeys, header_json: str, payload_json: str) -> str:
    """An RS256 token over the exact JSON text given (duplicate keys, odd shapes), signed with the
    relay's real key: only the content is hostile, never the signature."""
    signing_input = f"{b64(header_json.encode())}.{b64(payload_json.encode())}"
    signature = _private_key(keys.private_file).sign(
        signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{b64(signature)}"


def signed_claims(keys: SigningKeys, claims: dict, header: dict | None = None) -> str:
    return signed(keys, json.dumps(header or {"alg": "RS256", "typ": "JWT"}), json.dumps(claims))
