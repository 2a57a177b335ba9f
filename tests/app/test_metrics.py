"""/metrics exposes request latency by route template and the app's counters."""

import httpx
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from relay import metrics


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_request_latency_is_labelled_by_route_template(edge_client: httpx.AsyncClient) -> None:
    labels = {"method": "GET", "route": "/api/users/{user_id}/limited", "status": "200"}
    before = sample("relay_http_request_duration_seconds_count", **labels)
    await edge_client.get("/api/users/carol/limited")
    await edge_client.get("/api/users/dave/limited")
    assert sample("relay_http_request_duration_seconds_count", **labels) == before + 2


async def test_metrics_endpoint_serves_the_exposition_format(edge_client: httpx.AsyncClient) -> None:
    await edge_client.get("/api/small")
    response = await edge_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "relay_http_request_duration_seconds",
        "relay_http_requests_in_flight",
        "relay_socket_connections",
        "relay_messages_sent",
        "relay_messages_delivered",
        "relay_rate_limit_hits",
        "relay_rate_limit_fail_open",
    } <= families


async def test_in_flight_returns_to_its_level_after_requests(edge_client: httpx.AsyncClient) -> None:
    before = sample("relay_http_requests_in_flight")
    await edge_client.get("/api/small")
    await edge_client.get("/api/boom")
    assert sample("relay_http_requests_in_flight") == before


def test_app_helpers_move_their_metrics() -> None:
    sent, delivered = sample("relay_messages_sent_total"), sample("relay_messages_delivered_total")
    sockets = sample("relay_socket_connections")
    metrics.record_message_sent()
    metrics.record_messages_delivered(3)
    metrics.record_socket_connected()
    metrics.record_socket_connected()
    metrics.record_socket_disconnected()
    assert sample("relay_messages_sent_total") == sent + 1
    assert sample("relay_messages_delivered_total") == delivered + 3
    assert sample("relay_socket_connections") == sockets + 1
    metrics.record_socket_disconnected()
