"""Long-polling needs every request of an engine.io session on the replica that holds it: proven
through haproxy with raw engine.io requests, not assumed (issue 2 acceptance)."""

import json
from collections.abc import Callable

import httpx

from topology import Topology
from topology.layout import REPLICA_NAMES, STICKY_COOKIE

ENGINEIO = "/api/socketio/"


def open_polling_session(lb: httpx.Client) -> tuple[str, str]:
    """engine.io handshake without a cookie: the session id, and the replica haproxy chose for it."""
    lb.cookies.clear()
    response = lb.get(ENGINEIO, params={"EIO": "4", "transport": "polling"})
    assert response.status_code == 200, response.text
    assert response.text.startswith("0"), response.text  # engine.io OPEN packet
    return json.loads(response.text[1:])["sid"], response.cookies[STICKY_COOKIE]


def post_packet(lb: httpx.Client, sid: str, payload: str, replica: str | None) -> httpx.Response:
    lb.cookies.clear()
    if replica:
        lb.cookies.set(STICKY_COOKIE, replica)
    return lb.post(ENGINEIO, params={"EIO": "4", "transport": "polling", "sid": sid}, content=payload)


def test_polling_without_the_cookie_fails_with_invalid_session(healthy: Topology, lb: httpx.Client) -> None:
    sid, _home = open_polling_session(lb)
    # Round-robin sends one of two consecutive cookie-less requests to the other replica.
    responses = [post_packet(lb, sid, "3", replica=None) for _ in range(2)]
    refused = [r for r in responses if r.status_code == 400]
    assert refused, [(r.status_code, r.text) for r in responses]
    assert "Invalid session" in refused[0].text


def test_polling_with_the_other_replicas_cookie_fails_with_invalid_session(
    healthy: Topology, lb: httpx.Client
) -> None:
    sid, home = open_polling_session(lb)
    other = next(name for name in REPLICA_NAMES if name != home)
    response = post_packet(lb, sid, "3", replica=other)
    assert response.status_code == 400
    assert "Invalid session" in response.text


def test_polling_with_the_cookie_connects_and_stays_on_its_replica(
    healthy: Topology, lb: httpx.Client, mint: Callable[[str], str]
) -> None:
    sid, home = open_polling_session(lb)
    connect = post_packet(lb, sid, "40" + json.dumps({"token": mint("sticky")}), replica=home)
    assert connect.status_code == 200, connect.text
    for _ in range(5):
        assert post_packet(lb, sid, "3", replica=home).status_code == 200
    poll = lb.get(ENGINEIO, params={"EIO": "4", "transport": "polling", "sid": sid})  # cookie: still `home`
    assert poll.status_code == 200
    assert "40{" in poll.text, f"expected the Socket.IO CONNECT ack, got {poll.text!r}"
