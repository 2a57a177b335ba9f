"""Replicas leave rotation when their health check fails and come back when it passes; the
supervisor restarts a replica that dies, as Kubernetes would (DESIGN.md §3, §4).

Which replica serves a client is observed on the socket path, the one path that is sticky under
either socket server (with the native one, REST has no stickiness and no cookie to read)."""

import signal

import httpx

from topology import Topology
from topology.layout import STICKY_COOKIE

ENGINEIO = "/api/socketio/"
POLLING_HANDSHAKE = {"EIO": "4", "transport": "polling"}


def served_by(lb: httpx.Client, pinned_to: str) -> str:
    """The replica haproxy sends a socket client pinned to `pinned_to` to: an engine.io polling
    handshake carrying that cookie, answered by a replica that opens a session (a re-inserted
    cookie names another replica)."""
    lb.cookies.clear()
    lb.cookies.set(STICKY_COOKIE, pinned_to)
    response = lb.get(ENGINEIO, params=POLLING_HANDSHAKE)
    assert response.status_code == 200, response.text
    assert response.text.startswith("0"), response.text  # engine.io OPEN packet
    return response.cookies.get(STICKY_COOKIE, pinned_to)


def rest_statuses(lb: httpx.Client, count: int) -> list[int]:
    """Cookie-less REST requests: round-robin reaches every replica in rotation, so a stopped one
    still in rotation would leave a request hanging past the client's timeout."""
    lb.cookies.clear()
    return [lb.get("/healthz").status_code for _ in range(count)]


def test_health_check_takes_a_stopped_replica_out_of_rotation(healthy: Topology, lb: httpx.Client) -> None:
    pid = healthy.kill_replica("r1", signal.SIGSTOP)
    try:
        healthy.wait_replica_state("r1", "DOWN")
        assert {served_by(lb, "r1") for _ in range(4)} == {"r2"}
        assert rest_statuses(lb, 4) == [200] * 4
    finally:
        healthy.kill_replica("r1", signal.SIGCONT)
    healthy.wait_replica_state("r1", "UP")
    assert served_by(lb, "r1") == "r1"
    assert healthy.replicas.pids()["r1"] == pid, "a stopped (not dead) replica must not be restarted"


def test_a_killed_replica_is_restarted_and_back_in_rotation(healthy: Topology, lb: httpx.Client) -> None:
    restarts_before = healthy.replicas.restarts("r2")
    old_pid = healthy.kill_replica("r2", signal.SIGKILL)
    new_pid = healthy.replicas.wait_restarted("r2", old_pid)
    assert new_pid != old_pid
    assert healthy.replicas.restarts("r2") == restarts_before + 1
    healthy.wait_replica_serving("r2")
    healthy.wait_replica_state("r2", "UP")
    assert served_by(lb, "r2") == "r2"


def test_requests_keep_succeeding_while_a_replica_is_killed(healthy: Topology, lb: httpx.Client) -> None:
    old_pid = healthy.kill_replica("r1", signal.SIGKILL)
    statuses = rest_statuses(lb, 20)
    assert statuses == [200] * 20, "haproxy must redispatch a refused connection to the live replica"
    healthy.replicas.wait_restarted("r1", old_pid)
