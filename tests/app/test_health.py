"""/healthz is the shallow liveness check load balancers and Kubernetes probes use."""

import httpx

from relay.main import create_app
from relay.settings import Settings


async def test_healthz_answers_ok_without_dependencies() -> None:
    app = create_app(Settings(environment="local"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
