"""/healthz is the shallow liveness check load balancers use; /readyz checks the dependencies."""

import httpx

from tests.utils.relay_process import RelayProcess


def test_healthz_answers_ok(relay_server: RelayProcess) -> None:
    response = httpx.get(f"{relay_server.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_every_dependency_ok(relay_server: RelayProcess) -> None:
    response = httpx.get(f"{relay_server.url}/readyz", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok", "s3": "ok"}
