"""The edge stack as `relay serve` runs it (real process, Postgres, Redis, S3): headers, request
ids, JSON access lines without secrets, /metrics, the per-user API limit, Socket.IO through it."""

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from relay.middleware import SOCKETIO_PATH
from relay.realtime.server import SOCKETIO_PATH as MOUNTED_SOCKETIO_PATH
from tests.utils.relay_process import RelayProcess
from tests.utils.tokens import ORIGIN, SigningKeys


@pytest.fixture(scope="module")
def logged_server(
    relay_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RelayProcess]:
    """A relay process of this module's own, logging at INFO so access lines are written."""
    env = {**relay_env, "RELAY_LOG_LEVEL": "INFO"}
    with RelayProcess.start(env, tmp_path_factory.mktemp("edge-logs"), name="edge") as server:
        yield server


def json_lines(log_file: Path) -> list[dict]:
    lines = log_file.read_text().splitlines()
    parsed = [json.loads(line) for line in lines if line.strip()]
    assert len(parsed) == len([line for line in lines if line.strip()]), "every log line must be JSON"
    return parsed


def access_lines_of(log_file: Path, request_id: str, timeout: float = 5) -> list[dict]:
    """The access line is written just after the response is sent: wait for it, bounded."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [
            line
            for line in json_lines(log_file)
            if line.get("request_id") == request_id and line["logger"] == "relay.access"
        ]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_socketio_path_matches_where_the_app_mounts_it() -> None:
    assert "/" + MOUNTED_SOCKETIO_PATH.strip("/") == SOCKETIO_PATH


def test_responses_carry_hardening_request_id_and_no_store(logged_server: RelayProcess) -> None:
    for path, status in [("/healthz", 200), ("/api/me", 401), ("/api/no-such-route", 404)]:
        response = httpx.get(logged_server.url + path)
        assert response.status_code == status, path
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["strict-transport-security"] == "max-age=300; includeSubDomains"
        assert "wss://localhost:8443" in response.headers["content-security-policy"]
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
        assert response.headers["cache-control"] == "no-store"


def test_access_lines_name_user_and_route_and_hold_no_secret(
    logged_server: RelayProcess, signing_keys: SigningKeys
) -> None:
    user = f"edge-{uuid.uuid4().hex[:8]}"
    token = signing_keys.mint(user)
    response = httpx.get(
        f"{logged_server.url}/api/me?token={token}",
        headers={"Authorization": f"Bearer {token}", "Cookie": f"__session={token}"},
    )
    assert response.status_code == 200, response.text
    request_id = response.headers["x-request-id"]
    access = access_lines_of(logged_server.log_file, request_id)
    assert len(access) == 1, (request_id, logged_server.log_file.read_text()[-600:])
    assert access[0]["user_id"] == user
    assert access[0]["route"] == "/api/me"
    assert access[0]["status"] == 200
    assert access[0]["replica"].startswith("edge-")
    log_text = logged_server.log_file.read_text()
    assert token not in log_text
    assert token.split(".")[2] not in log_text  # not even the signature


def test_metrics_expose_route_latency(logged_server: RelayProcess) -> None:
    httpx.get(logged_server.url + "/api/me")
    body = httpx.get(logged_server.url + "/metrics").text
    assert re.search(
        r'relay_http_request_duration_seconds_count\{method="GET",route="/api/me",status="401"\}', body
    )


async def test_user_api_limit_answers_429_with_retry_after(
    logged_server: RelayProcess, signing_keys: SigningKeys
) -> None:
    user = f"edge-burst-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {signing_keys.mint(user)}"}
    async with httpx.AsyncClient(base_url=logged_server.url, headers=headers, timeout=20) as client:
        responses = await asyncio.gather(*(client.get("/api/me") for _ in range(80)))
    statuses = [response.status_code for response in responses]
    assert statuses.count(200) >= 50
    limited = [response for response in responses if response.status_code == 429]
    assert limited, statuses
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].json()["error"]["code"] == "rate_limited"


def test_socketio_polling_works_through_the_stack(logged_server: RelayProcess) -> None:
    response = httpx.get(f"{logged_server.url}{SOCKETIO_PATH}/", params={"EIO": "4", "transport": "polling"})
    assert response.status_code == 200
    assert response.text.startswith("0")
    assert "x-request-id" in response.headers


def test_oversize_body_gets_413_before_auth(logged_server: RelayProcess) -> None:
    response = httpx.post(
        f"{logged_server.url}/api/channels",
        content=b'{"name": "' + b"x" * 70_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "payload_too_large", "message": "request body exceeds the limit 65536 bytes"}
    }
    assert response.headers["x-frame-options"] == "DENY"


def test_cors_allows_the_configured_origin_only(logged_server: RelayProcess) -> None:
    allowed = httpx.get(logged_server.url + "/api/me", headers={"Origin": ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    other = httpx.get(logged_server.url + "/api/me", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
