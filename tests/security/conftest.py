"""Harness of the hostile-input suite: the attacks go over the wire at a real topology.

- `topology`: haproxy -> 2 replicas on free ports, with its own Redis and database, and the limits
  of production (DESIGN.md §4), so floods meet the real limiter. `lb` is an HTTPS client of the load
  balancer; `replica_url(name)` is a replica's own port (reachable inside a cluster too).
- `fuzz_server`: a third replica on the same database and Redis with the rate limits raised, for
  schemathesis (thousands of requests from one address in seconds).
- `relay_server`: the package's own single replica (overriding the session's), for the token and
  cookie cases that need no load balancer; `api(user_id)` is a REST client of it.
- `mint(user_id, **claims)`: a session token the topology accepts; `topology_keys` signs anything.
- `lb_socket(token)`, `lb_api(user_id)`: a socket and a REST client through haproxy, each from a
  loopback address of its own.
Guards over the whole package, whichever test sent a request and however:
- no 5xx: every answer of the replicas (JSON access log) and of haproxy (httplog) is read back
  after each module; any 5xx fails it, and so does a traceback in a replica's log (a socket
  handler that raised answers no status, and its ack never comes). Every relay process the suite
  attacks is read: the topology's replicas, the fuzz server, `relay_server`, and any server a
  module starts for itself once it passes it to `response_log.watch` (all log at INFO, so that
  each answer has its access line);
- every request is answered or closed within the ping interval + 5 s (the same logs' durations; the
  helpers' clients time out there too);
- each replica's `relay_http_requests_in_flight`, read on its own port, is back to its pre-suite
  value within 30 s of the suite's end.
"""

import contextlib
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.security.attacks import fresh_loopback
from tests.utils.relay_process import RelayProcess
from tests.utils.response_log import ResponseLog
from tests.utils.sockets import SocketUser
from tests.utils.tokens import SigningKeys
from tests.utils.topologies import running_topology
from topology import Topology

PING_INTERVAL_SECONDS = 25  # relay.realtime.server (DESIGN §4 socket timing)
ANSWER_WITHIN_SECONDS = PING_INTERVAL_SECONDS + 5
IN_FLIGHT_SETTLE_SECONDS = 30
# Explicit on every helper client: nothing the suite sends may wait longer than the guard allows.
CLIENT_TIMEOUT = httpx.Timeout(ANSWER_WITHIN_SECONDS, connect=10)
FUZZ_LIMITS = {
    "RELAY_RATE_IP_PER_SECOND": "100000",
    "RELAY_RATE_API_PER_SECOND": "100000",
    "RELAY_RATE_MESSAGES_PER_SECOND": "100000",
    "RELAY_RATE_MESSAGES_BURST": "100000",
}


def client_through_haproxy(topology: Topology, token: str) -> httpx.Client:
    """A bearer client of the API through the load balancer, from a loopback address of its own."""
    transport = httpx.HTTPTransport(local_address=fresh_loopback(), verify=topology.ssl_context())
    return httpx.Client(
        base_url=f"{topology.url}/api",
        transport=transport,
        headers={"Authorization": f"Bearer {token}"},
        timeout=CLIENT_TIMEOUT,
    )


@pytest.fixture(scope="package")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    with running_topology(tmp_path_factory.mktemp("security-topology"), "relay_sec") as stack:
        yield stack


@pytest.fixture(scope="package")
def fuzz_server(topology: Topology, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayProcess]:
    env = {**topology.process_env(), **FUZZ_LIMITS, "RELAY_LOG_LEVEL": "INFO"}
    with RelayProcess.start(env, tmp_path_factory.mktemp("fuzz-logs"), name="fuzz") as server:
        yield server


@pytest.fixture(scope="package")
def relay_server(
    relay_env: dict[str, str], response_log: ResponseLog, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RelayProcess]:
    """Overrides the session's shared server, which logs at WARNING (no access lines), so that the
    guards see every answer the token and CSRF cases get, as they see the topology's."""
    env = {**relay_env, "RELAY_LOG_LEVEL": "INFO"}
    with RelayProcess.start(env, tmp_path_factory.mktemp("security-relay"), name="security-relay") as server:
        response_log.watch("security relay", server.log_file)
        yield server


@pytest.fixture(scope="package")
def topology_keys(topology: Topology) -> SigningKeys:
    """The topology's own key and issuer (the session's `signing_keys` sign for its relay_server)."""
    return SigningKeys(
        topology.layout.signing_key, topology.layout.verifying_key, issuer=topology.url, origin=topology.url
    )


@pytest.fixture(scope="package")
def mint(topology_keys: SigningKeys) -> Callable[..., str]:
    """`mint(user_id, **claims)`: a valid token for the topology; claim=None drops a claim."""
    return topology_keys.mint


@pytest.fixture(scope="package")
def lb_socket(topology: Topology) -> Callable[[str], SocketUser]:
    """`lb_socket(token)`: a socket (not yet connected) through haproxy, from an address of its own
    so that each has a handshake budget of its own."""
    return lambda token: SocketUser(
        topology.url, token, ssl_context=topology.ssl_context(), local_address=fresh_loopback()
    )


@pytest.fixture
def lb_api(topology: Topology, mint: Callable[..., str]) -> Iterator[Callable[[str], httpx.Client]]:
    """`lb_api(user_id)`: that user's REST client (bearer) of /api through haproxy."""
    with contextlib.ExitStack() as clients:

        def client_for(user_id: str) -> httpx.Client:
            transport = httpx.HTTPTransport(local_address=fresh_loopback(), verify=topology.ssl_context())
            return clients.enter_context(
                httpx.Client(
                    base_url=f"{topology.url}/api",
                    transport=transport,
                    headers={"Authorization": f"Bearer {mint(user_id)}"},
                    timeout=CLIENT_TIMEOUT,
                )
            )

        yield client_for


@pytest.fixture(scope="package")
def replica_url(topology: Topology) -> Callable[[str], str]:
    return lambda name: f"http://127.0.0.1:{topology.ports.replica_ports()[name]}"


@pytest.fixture
def lb(topology: Topology) -> Iterator[httpx.Client]:
    """A cookie-less HTTPS client of the load balancer."""
    with httpx.Client(base_url=topology.url, verify=topology.ssl_context(), timeout=CLIENT_TIMEOUT) as client:
        yield client


@pytest.fixture(scope="package")
def response_log(topology: Topology, fuzz_server: RelayProcess) -> ResponseLog:
    replicas = {
        f"replica {name}": topology.layout.log_file(f"replica-{name}")
        for name in topology.ports.replica_ports()
    }
    return ResponseLog({**replicas, "fuzz server": fuzz_server.log_file}, topology.layout.log_file("haproxy"))


def in_flight(url: str) -> float:
    """The replica's own gauge (this scrape counts itself, before and after alike)."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    line = next(line for line in text.splitlines() if line.startswith("relay_http_requests_in_flight "))
    return float(line.split()[1])


def assert_well_answered(response_log: ResponseLog, since: dict[str, int]) -> None:
    answers = response_log.answers(since)
    server_errors = [a.describe() for a in answers if a.status >= 500]
    assert not server_errors, "5xx answered during the security suite:\n" + "\n".join(server_errors)
    limit_ms = ANSWER_WITHIN_SECONDS * 1000
    slow = [a.describe() for a in answers if not a.tunnel and a.duration_ms > limit_ms]
    assert not slow, f"requests held longer than {ANSWER_WITHIN_SECONDS} s:\n" + "\n".join(slow)
    tracebacks = response_log.tracebacks(since)
    assert not tracebacks, "tracebacks in the replica logs:\n" + "\n".join(tracebacks[:5])


@pytest.fixture(scope="package", autouse=True)
def suite_guards(
    topology: Topology,
    fuzz_server: RelayProcess,
    response_log: ResponseLog,
    replica_url: Callable[[str], str],
) -> Iterator[None]:
    urls = [replica_url(name) for name in topology.ports.replica_ports()] + [fuzz_server.url]
    before = {url: in_flight(url) for url in urls}
    start = response_log.mark()
    yield
    deadline = time.monotonic() + IN_FLIGHT_SETTLE_SECONDS
    now = {url: in_flight(url) for url in urls}
    while now != before and time.monotonic() < deadline:
        time.sleep(0.5)
        now = {url: in_flight(url) for url in urls}
    assert_well_answered(response_log, start)
    assert now == before, (
        f"requests still in flight {IN_FLIGHT_SETTLE_SECONDS} s after the suite: {now} (before: {before})"
    )


@pytest.fixture(scope="module", autouse=True)
def no_server_errors_in_module(suite_guards: None, response_log: ResponseLog) -> Iterator[None]:
    """The package-wide check again per module, so a 5xx is reported next to the tests that caused it."""
    start = response_log.mark()
    yield
    assert_well_answered(response_log, start)
