"""/healthz is the shallow liveness check load balancers and Kubernetes probes use."""

import httpx


async def test_healthz_answers_ok_without_dependencies(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
