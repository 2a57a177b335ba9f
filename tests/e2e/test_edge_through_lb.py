"""The service's hardening as a browser sees it: on real responses that crossed haproxy, not on the
ASGI app alone (DESIGN.md §4 Hardening)."""

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from topology import Topology


def test_security_headers_reach_the_client_through_haproxy(topology: Topology, lb: httpx.Client) -> None:
    for path in ("/healthz", "/api/openapi.json", "/api/does-not-exist"):
        headers = lb.get(path).headers
        assert (
            f"connect-src 'self' wss://localhost:{topology.ports.https}" in headers["content-security-policy"]
        )
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["strict-transport-security"].startswith("max-age=300"), "local mode: 300 s, not a year"
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "origin-when-cross-origin"
        assert headers["permissions-policy"] == "camera=(), microphone=(), geolocation=()"


def test_cors_preflight_allows_the_public_origin_only(topology: Topology, lb: httpx.Client) -> None:
    request = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    allowed = lb.options("/api/channels", headers={**request, "Origin": topology.url})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == topology.url
    assert allowed.headers["access-control-allow-credentials"] == "true"

    refused = lb.options("/api/channels", headers={**request, "Origin": "https://evil.example"})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


def client_from(topology: Topology, address: str) -> httpx.Client:
    """A client of the load balancer connecting from `address` (any of 127.0.0.0/8 is local)."""
    transport = httpx.HTTPTransport(local_address=address, verify=topology.ssl_context())
    return httpx.Client(base_url=topology.url, transport=transport, timeout=10)


def test_the_client_address_reaches_the_replica_through_x_forwarded_for(topology: Topology) -> None:
    """haproxy writes its peer's address there, over anything the client wrote (issue 7, finding 3)."""
    probe = f"/api/xff-probe-{uuid.uuid4().hex}"  # a path no other request uses, to find its log line
    with client_from(topology, "127.0.0.7") as client:
        client.get(probe, headers={"X-Forwarded-For": "203.0.113.7"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for log_file in topology.layout.logs.glob("replica-*.log"):
            for line in log_file.read_text().splitlines():
                if probe in line and line.startswith("{"):
                    assert json.loads(line)["client_ip"] == "127.0.0.7"
                    return
        time.sleep(0.1)
    raise AssertionError(f"no access-log line for {probe} in {topology.layout.logs}")


def test_a_burst_from_one_client_is_limited_and_then_recovers(topology: Topology) -> None:
    """300 requests from 16 threads: over the 100/s per-IP budget even on a busy machine."""
    with client_from(topology, f"127.0.{uuid.uuid4().int % 250 + 1}.9") as client:  # its own rate bucket
        with ThreadPoolExecutor(16) as pool:
            responses = list(pool.map(lambda _: client.get("/api/openapi.json"), range(300)))
        statuses = [response.status_code for response in responses]
        assert 429 in statuses, f"no 429 in {len(statuses)} requests"
        assert set(statuses) <= {200, 429}
        retry_after = max(int(r.headers["retry-after"]) for r in responses if r.status_code == 429)
        assert retry_after >= 1
        time.sleep(retry_after)
        assert client.get("/api/openapi.json").status_code == 200
