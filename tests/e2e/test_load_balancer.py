"""haproxy in front of the replicas behaves like the production ALB: HTTPS only, TLS 1.2+ with the
generated CA, /metrics refused, new clients spread round-robin and then kept by an inserted cookie."""

import itertools
import ssl

import httpx
import pytest

from topology import Topology
from topology.layout import REPLICA_NAMES, STICKY_COOKIE


def test_http_redirects_permanently_to_https_keeping_path_and_query(topology: Topology) -> None:
    response = httpx.get(f"http://localhost:{topology.ports.http}/api/channels?scope=public&x=1")
    assert response.status_code == 301
    assert response.headers["location"] == f"{topology.url}/api/channels?scope=public&x=1"


def test_tls_verifies_with_the_generated_ca(lb: httpx.Client) -> None:
    response = lb.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_tls_is_refused_without_the_generated_ca(topology: Topology) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{topology.url}/healthz", verify=ssl.create_default_context())


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_below_1_2_is_refused(topology: Topology) -> None:
    context = topology.ssl_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_1  # offered alone: the server must refuse it
    context.set_ciphers("ALL:@SECLEVEL=0")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{topology.url}/healthz", verify=context)


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/METRICS", "/%6detrics", "//metrics"])
def test_metrics_is_refused_at_the_load_balancer(topology: Topology, lb: httpx.Client, path: str) -> None:
    # raw_path: sent as written, so encoded and doubled-slash spellings reach haproxy unnormalized.
    assert lb.get(httpx.URL(topology.url).copy_with(raw_path=path.encode())).status_code == 403
    replica_port = topology.ports.replicas[0]
    direct = httpx.get(f"http://127.0.0.1:{replica_port}/metrics")
    assert direct.status_code != 403, "the refusal must come from haproxy, not from the replica"


def test_new_clients_are_spread_round_robin_with_an_inserted_cookie(
    healthy: Topology, lb: httpx.Client
) -> None:
    """On the socket path, the one that needs stickiness and has it under either socket server
    (with the native one, REST has none)."""
    assigned = []
    for _ in range(4):
        response = lb.get("/api/socketio/", params={"EIO": "4", "transport": "polling"})
        assert response.status_code == 200, response.text
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Secure" in cookie
        assigned.append(response.cookies[STICKY_COOKIE])
        lb.cookies.clear()
    assert set(assigned) == set(REPLICA_NAMES)
    assert all(a != b for a, b in itertools.pairwise(assigned)), assigned


def test_a_client_with_the_cookie_stays_on_its_replica(healthy: Topology, lb: httpx.Client) -> None:
    lb.cookies.set(STICKY_COOKIE, REPLICA_NAMES[1])
    for _ in range(4):
        response = lb.get("/healthz")
        assert response.status_code == 200
        assert "set-cookie" not in response.headers, "haproxy re-assigned a client whose replica is up"
