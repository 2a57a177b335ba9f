"""`X-Forwarded-*` and `Host` abuse: the client address and the redirect target are ours, never the
client's (issue 7, findings 3 and 9; DESIGN.md §4 "client IP").

Locally haproxy and the real client both live on 127.0.0.1, so haproxy reaches the replicas from
127.0.0.2 and only that address is trusted: a request straight at a replica port cannot name its
own address either.
"""

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.security.conftest import CLIENT_TIMEOUT
from tests.utils.raw_http import exchange
from topology import Topology

FLOOD = 400  # from 16 threads: well over the per-IP rate of 100/s (burst 100) even on a busy machine
IP_RATE = 100


def logged_client_ip(topology: Topology, request_id: str, within: float = 5) -> str:
    """The client address the replica's access log recorded for `request_id`."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for name in topology.ports.replica_ports():
            for line in topology.layout.log_file(f"replica-{name}").read_text().splitlines():
                if request_id in line and '"relay.access"' in line:
                    return json.loads(line)["client_ip"]
        time.sleep(0.1)
    raise AssertionError(f"no access-log line for request {request_id}")


def flood_with_forged_addresses(client: httpx.Client) -> tuple[list[int], float]:
    """FLOOD unauthenticated requests from one address, each claiming another; then wait out the
    refill, so later tests from this address start with a full bucket. Returns the statuses and
    the seconds the flood took."""
    forged = [f"203.0.{n // 250}.{n % 250 + 1}" for n in range(FLOOD)]
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        statuses = list(
            pool.map(lambda ip: client.get("/api/me", headers={"X-Forwarded-For": ip}).status_code, forged)
        )
    seconds = time.monotonic() - started
    time.sleep(1.5)
    return statuses, seconds


def assert_held_to_the_per_ip_budget(statuses: list[int], seconds: float) -> None:
    answered = statuses.count(401)  # unauthenticated: the limiter answers first
    assert answered <= IP_RATE + IP_RATE * seconds, f"{answered} of {FLOOD} answered in {seconds:.1f} s"
    assert set(statuses) <= {401, 429}


def test_forged_x_forwarded_for_through_haproxy_is_still_limited_per_ip(lb: httpx.Client) -> None:
    assert_held_to_the_per_ip_budget(*flood_with_forged_addresses(lb))


def test_forged_x_forwarded_for_at_a_replica_is_still_limited_per_ip(
    replica_url: Callable[[str], str],
) -> None:
    with httpx.Client(base_url=replica_url("r1"), timeout=CLIENT_TIMEOUT) as client:
        assert_held_to_the_per_ip_budget(*flood_with_forged_addresses(client))


def test_haproxy_replaces_the_client_x_forwarded_for_with_the_peer_address(
    topology: Topology, lb: httpx.Client
) -> None:
    response = lb.get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    assert logged_client_ip(topology, response.headers["x-request-id"]) == "127.0.0.1"


def test_haproxy_replaces_every_x_forwarded_for_header_the_client_repeats(topology: Topology) -> None:
    request = (
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 203.0.113.1\r\n"
        b"X-Forwarded-For: 203.0.113.2, 127.0.0.2\r\nConnection: close\r\n\r\n"
    )
    answer = exchange(topology.ports.https, request, tls=topology.ssl_context(), within=10)
    assert answer.status == 200
    assert logged_client_ip(topology, answer.header("x-request-id")) == "127.0.0.1"


def test_the_client_address_through_haproxy_is_the_tcp_peer_of_haproxy(topology: Topology) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.7", verify=topology.ssl_context())
    with httpx.Client(base_url=topology.url, transport=transport, timeout=CLIENT_TIMEOUT) as client:
        response = client.get("/healthz", headers={"X-Forwarded-For": "127.0.0.2"})
    assert logged_client_ip(topology, response.headers["x-request-id"]) == "127.0.0.7"


@pytest.mark.parametrize(
    "forged",
    [
        "203.0.113.9",
        "127.0.0.2",
        "10.0.0.1, 127.0.0.2",
        "unknown",
        "<script>alert(1)</script>",
        "1.2.3.4" * 500,
    ],
)
def test_a_replica_ignores_x_forwarded_for_from_a_peer_that_is_not_the_load_balancer(
    topology: Topology, replica_url: Callable[[str], str], forged: str
) -> None:
    response = httpx.get(
        f"{replica_url('r2')}/healthz", headers={"X-Forwarded-For": forged}, timeout=CLIENT_TIMEOUT
    )
    assert response.status_code == 200
    assert logged_client_ip(topology, response.headers["x-request-id"]) == "127.0.0.1"


def test_a_replica_ignores_a_request_id_from_a_peer_that_is_not_the_load_balancer(
    replica_url: Callable[[str], str],
) -> None:
    forged = f"forged-{uuid.uuid4().hex}"
    response = httpx.get(
        f"{replica_url('r1')}/healthz", headers={"X-Request-ID": forged}, timeout=CLIENT_TIMEOUT
    )
    assert response.headers["x-request-id"] != forged


@pytest.mark.parametrize("request_id", ["x" * 129, '{"level":"ERROR"}', "a b", "a\tb"])
def test_a_request_id_that_could_forge_log_lines_is_replaced(lb: httpx.Client, request_id: str) -> None:
    response = lb.get("/healthz", headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    assert response.headers.get("x-request-id", "") != request_id


def http_redirect(topology: Topology, target: bytes, host: bytes) -> str | None:
    request = b"GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (target, host)
    answer = exchange(topology.ports.http, request, within=10)
    assert answer.status == 301, answer.data[:300]
    return answer.header("location")


@pytest.mark.parametrize(
    "host",
    [
        b"evil.example",
        b"evil.example/x?",
        b"evil.example:8443",
        b"localhost@evil.example",
        b"localhost\\@evil.example",
    ],
)
def test_the_http_redirect_goes_to_the_public_origin_whatever_the_host_header(
    topology: Topology, host: bytes
) -> None:
    location = http_redirect(topology, b"/api/channels?after=1", host)
    assert location == f"{topology.url}/api/channels?after=1"


def test_the_http_redirect_of_an_absolute_form_request_stays_on_the_public_origin(topology: Topology) -> None:
    location = http_redirect(topology, b"http://evil.example/login", b"evil.example")
    assert location is not None and location.startswith(f"{topology.url}/"), location


@pytest.mark.parametrize(
    "path", ["/metrics", "//metrics", "/%6detrics", "/METRICS", "/metrics/", "/./metrics"]
)
def test_metrics_are_refused_through_haproxy_however_the_path_is_spelled(lb: httpx.Client, path: str) -> None:
    # An absolute URL: relative to base_url, httpx reads "//metrics" as a host and sends "/".
    response = lb.get(str(lb.base_url).rstrip("/") + path)
    assert response.status_code in (403, 404)
    assert "relay_http_requests_in_flight" not in response.text
