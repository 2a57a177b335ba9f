"""A very short real run of the Node reference server (loadtests/node_reference.py) answering the
fan-out generator, in two generator processes: the events of DESIGN.md §4a, across both server
processes through its Redis. A few seconds at a tiny rate; no timing is asserted."""

import pytest
import socketio

from loadtests import node_reference
from loadtests.bench_fanout import Plan, run_step

SUBSCRIBERS = 6


@pytest.fixture(scope="module")
def reference():
    with node_reference.running(SUBSCRIBERS) as server:
        yield server


def test_every_acked_message_reaches_every_subscriber_on_both_processes(reference) -> None:
    # More generator processes than senders: the one without a sender must still receive.
    plan = Plan(SUBSCRIBERS, senders=1, payload_bytes=100, duration_seconds=2, drain_seconds=5, generators=2)
    result = run_step(reference, plan, deliveries_per_second=60)
    assert result["errorCount"] == 0, result["errors"]
    assert result["acked"] == result["sent"] >= 15
    assert result["expectedDeliveries"] == result["acked"] * SUBSCRIBERS
    assert result["lost"] == 0
    assert result["duplicates"] == 0
    assert result["disconnects"] == []
    assert result["latencyMs"]["p99"] is not None
    assert set(result["cpuCores"]) == {"node 1", "node 2", "redis (node's)", "generator 1", "generator 2"}


def test_a_handshake_without_a_token_is_refused(reference) -> None:
    client = socketio.Client(reconnection=False)
    reasons = []
    client.on("connect_error", reasons.append)
    url = reference.generator_config()["urls"][0]
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(url, socketio_path="/api/socketio", auth={}, wait_timeout=5)
    client.disconnect()
    assert reasons == [{"message": "unauthorized"}]
