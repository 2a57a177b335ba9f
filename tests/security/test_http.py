"""HTTP-level abuse through haproxy and straight at a replica port: oversize and trickled heads and
bodies (issue 7, finding 12: 16 KiB of headers, read within 10 s), and request smuggling.

The trickling attacks each take about ten seconds, so the module starts them all at once and each
test reads its own outcome.
"""

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.utils.raw_http import RawAnswer, exchange
from topology import Topology

HEADER_LIMIT = 16 * 1024
READ_TIMEOUT = 10  # seconds, for the head and again for the body (relay.http_protocol, haproxy)
SLACK = 2.5  # a shared, busy machine


def head(request_line: str, *headers: str) -> bytes:
    """A request head, Host included; `headers` are written as given (odd spacing kept)."""
    return "\r\n".join([request_line, "Host: localhost", *headers, "", ""]).encode("latin-1")


def trickled_head() -> list[bytes]:
    return [b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"] + [b"X-Slow-%d: 1\r\n" % n for n in range(16)]


def trickled_body() -> list[bytes]:
    return [head("POST /api/channels HTTP/1.1", "Content-Type: application/json", "Content-Length: 40")] + [
        b" "
    ] * 16


@pytest.fixture(scope="module")
def slow_attacks(
    topology: Topology, replica_url: Callable[[str], str]
) -> Iterator[dict[str, Future[RawAnswer]]]:
    """Each attack sends one part a second for 16 s and then waits; the server should cut it at 10 s."""
    replica = topology.ports.replicas[0]
    lb, tls = topology.ports.https, topology.ssl_context()
    attacks = {
        "head at replica": lambda: exchange(replica, trickled_head(), pause=1, within=25),
        "head through haproxy": lambda: exchange(lb, trickled_head(), tls=tls, pause=1, within=25),
        "body at replica": lambda: exchange(replica, trickled_body(), pause=1, within=25),
        "body through haproxy": lambda: exchange(lb, trickled_body(), tls=tls, pause=1, within=25),
        "silence at replica": lambda: exchange(replica, b"", within=25),
        "short body at replica": lambda: post_declaring(replica, 100, b'{"name": "half'),
    }
    with ThreadPoolExecutor(len(attacks)) as pool:
        yield {name: pool.submit(attack) for name, attack in attacks.items()}


def assert_cut_off(answer: RawAnswer, after: float = READ_TIMEOUT) -> None:
    assert answer.closed, f"connection still open after {answer.seconds:.1f} s"
    assert answer.seconds <= after + SLACK, f"closed only after {answer.seconds:.1f} s"
    assert answer.status in (None, 408), answer.data[:200]


def test_headers_trickled_to_a_replica_are_cut_off_after_10_s(slow_attacks) -> None:
    answer = slow_attacks["head at replica"].result()
    assert_cut_off(answer)
    assert answer.status == 408


def test_headers_trickled_through_haproxy_are_cut_off_after_10_s(slow_attacks) -> None:
    assert_cut_off(slow_attacks["head through haproxy"].result())


def test_a_body_trickled_to_a_replica_is_cut_off_10_s_after_its_headers(slow_attacks) -> None:
    answer = slow_attacks["body at replica"].result()
    assert_cut_off(answer, after=2 * READ_TIMEOUT)
    assert answer.status == 408


def test_a_body_trickled_through_haproxy_is_cut_off_after_10_s(slow_attacks) -> None:
    assert_cut_off(slow_attacks["body through haproxy"].result())


def test_a_connection_that_sends_nothing_to_a_replica_is_closed_after_10_s(slow_attacks) -> None:
    assert_cut_off(slow_attacks["silence at replica"].result())


def get_with_headers(port: int, headers: bytes, **kwargs: object) -> RawAnswer:
    return exchange(
        port,
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n%sConnection: close\r\n\r\n" % headers,
        within=10,
        **kwargs,
    )


def test_a_2_mb_header_at_a_replica_is_refused_with_431(topology: Topology) -> None:
    answer = get_with_headers(topology.ports.replicas[0], b"X-Big: " + b"a" * 2_000_000 + b"\r\n")
    assert answer.status == 431
    assert answer.closed


def test_many_headers_over_16_kib_at_a_replica_are_refused_with_431(topology: Topology) -> None:
    headers = b"".join(b"X-Many-%04d: %s\r\n" % (n, b"b" * 90) for n in range(200))  # ~21 KiB
    assert get_with_headers(topology.ports.replicas[1], headers).status == 431


def test_a_url_over_16_kib_at_a_replica_is_refused_with_431(topology: Topology) -> None:
    request = b"GET /healthz?" + b"q" * (HEADER_LIMIT + 10) + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
    assert exchange(topology.ports.replicas[0], request, within=10).status == 431


def test_headers_just_under_16_kib_at_a_replica_are_served(topology: Topology) -> None:
    answer = get_with_headers(topology.ports.replicas[0], b"X-Big: " + b"a" * (HEADER_LIMIT - 200) + b"\r\n")
    assert answer.status == 200


def test_an_oversize_header_through_haproxy_is_refused(topology: Topology) -> None:
    answer = get_with_headers(
        topology.ports.https, b"X-Big: " + b"a" * (HEADER_LIMIT + 1024) + b"\r\n", tls=topology.ssl_context()
    )
    assert answer.status in (400, 431)


def test_a_request_line_of_garbage_at_a_replica_is_refused_with_400(topology: Topology) -> None:
    answer = exchange(
        topology.ports.replicas[1], b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 64, within=10
    )
    assert answer.status == 400 and answer.closed


def post_declaring(port: int, length: int, body: bytes, *, within: float = 25, **kwargs: object) -> RawAnswer:
    request = head(
        "POST /api/channels HTTP/1.1",
        "Content-Type: application/json",
        f"Content-Length: {length}",
        "Connection: close",
    )
    return exchange(port, request + body, within=within, **kwargs)


def test_a_declared_10_mb_body_at_a_replica_is_refused_with_413_before_it_is_sent(topology: Topology) -> None:
    assert post_declaring(topology.ports.replicas[0], 10_000_000, b"").status == 413


def test_a_chunked_body_over_64_kib_at_a_replica_is_refused_with_413(topology: Topology) -> None:
    chunk = b"a" * 16384
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6)) + b"0\r\n\r\n"
    request = head("POST /api/channels HTTP/1.1", "Transfer-Encoding: chunked", "Connection: close")
    assert exchange(topology.ports.replicas[1], request + body, within=15).status == 413


def test_a_body_that_stops_short_of_its_content_length_gets_408_not_a_server_error(slow_attacks) -> None:
    """The app is left waiting for the rest: it must see a disconnect, and the harness a 408, never a 500."""
    answer = slow_attacks["short body at replica"].result()
    assert_cut_off(answer, after=2 * READ_TIMEOUT)
    assert answer.status == 408


def smuggling_attempts(marker: str) -> dict[str, bytes]:
    """Each hides `GET /api/smuggled-<marker>` after a body that one parser or another reads as empty."""
    inner = head(f"GET /api/smuggled-{marker} HTTP/1.1")
    chunked_empty = b"0\r\n\r\n" + inner
    chunked_inner = b"%x\r\n%s\r\n0\r\n\r\n" % (len(inner), inner)
    post = "POST /healthz HTTP/1.1"
    return {
        "CL.TE": head(post, f"Content-Length: {len(chunked_empty)}", "Transfer-Encoding: chunked")
        + chunked_empty,
        "TE.CL": head(post, "Content-Length: 4", "Transfer-Encoding: chunked") + chunked_inner,
        "duplicate Content-Length": head(post, "Content-Length: 0", f"Content-Length: {len(inner)}") + inner,
        "obfuscated Transfer-Encoding": head(
            post, f"Content-Length: {len(chunked_empty)}", "Transfer-Encoding : chunked"
        )
        + chunked_empty,
        "obs-fold Transfer-Encoding": head(
            post, f"Content-Length: {len(chunked_empty)}", "X-Pad: 1", " Transfer-Encoding: chunked"
        )
        + chunked_empty,
    }


ATTEMPTS = list(smuggling_attempts("x"))
# Sent after each attempt: the connection ends once this one is answered.
LAST_REQUEST = head("GET /healthz HTTP/1.1", "Connection: close")


def smuggle(topology: Topology, port: int, attempt: str, **kwargs: object) -> RawAnswer:
    """Send the attempt; assert no replica ever served the smuggled request (it would answer 404)."""
    marker = uuid.uuid4().hex
    answer = exchange(port, smuggling_attempts(marker)[attempt] + LAST_REQUEST, within=15, **kwargs)
    assert answer.closed
    assert 404 not in answer.statuses, answer.data[:500]
    for name in topology.ports.replica_ports():
        assert marker not in topology.layout.log_file(f"replica-{name}").read_text(), f"replica {name} saw it"
    return answer


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_request_smuggling_through_haproxy_never_reaches_a_replica_as_a_second_request(
    topology: Topology, attempt: str
) -> None:
    smuggle(topology, topology.ports.https, attempt, tls=topology.ssl_context())


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_request_smuggling_at_a_replica_is_refused_or_read_as_one_body(
    topology: Topology, attempt: str
) -> None:
    answer = smuggle(topology, topology.ports.replicas[0], attempt)
    assert answer.statuses[:1] in ([400], [405]), answer.data[:500]
