"""/healthz is the shallow liveness check load balancers use; /readyz checks the dependencies."""

import signal
import time

import httpx
import pytest

from tests.utils.ports import wait_for_http
from tests.utils.redis_server import RedisServer
from tests.utils.relay_process import RelayProcess
from tests.utils.tokens import new_user_id


def test_healthz_answers_ok(relay_server: RelayProcess) -> None:
    response = httpx.get(f"{relay_server.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_every_dependency_ok(relay_server: RelayProcess) -> None:
    response = httpx.get(f"{relay_server.url}/readyz", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok", "s3": "ok"}


@pytest.fixture
def own_redis_server(relay_env, tmp_path):
    """A replica on a Redis of its own, so stopping that Redis disturbs no other test."""
    redis = RedisServer.start()
    server = RelayProcess.start({**relay_env, "RELAY_REDIS_URL": redis.url}, tmp_path, name="own-redis")
    yield redis, server
    server.stop()
    redis.close()


def test_redis_outage_fails_readiness_but_not_rest_reads_and_recovers(own_redis_server, signing_keys) -> None:
    redis, server = own_redis_server
    api = httpx.Client(
        base_url=f"{server.url}/api",
        timeout=10,
        headers={"Authorization": f"Bearer {signing_keys.mint(new_user_id())}"},
    )
    channel = api.post("/channels", json={"name": "room"}).json()
    api.post(f"/channels/{channel['id']}/messages", json={"body": "before", "client_msg_id": "b"})

    redis.stop()
    ready = httpx.get(f"{server.url}/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["redis"] and "redis" in ready.json()["message"]
    assert httpx.get(f"{server.url}/healthz").status_code == 200  # a Redis blip never drains pods
    history = api.get(f"/channels/{channel['id']}/messages")
    assert history.status_code == 200 and [m["body"] for m in history.json()["messages"]] == ["before"]
    assert api.get("/channels").status_code == 200
    posted = api.post(f"/channels/{channel['id']}/messages", json={"body": "during", "client_msg_id": "d"})
    assert posted.status_code == 201  # committed; sockets catch up with ?after=N
    assert api.put("/me/status", json={"status": "away"}).status_code == 200
    assert api.get("/users", params={"q": "user"}).status_code == 200  # presence reads as offline

    redis.resume()
    wait_for_http(f"{server.url}/readyz", timeout=20)
    api.close()


def test_sigterm_drains_healthz_before_shutting_down(relay_env, tmp_path) -> None:
    server = RelayProcess.start({**relay_env, "RELAY_DRAIN_SECONDS": "2"}, tmp_path, name="draining")
    try:
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        during = httpx.get(f"{server.url}/healthz")
        assert during.status_code == 503 and during.json() == {"status": "draining"}
        server.process.wait(timeout=15)
    finally:
        server.kill()
