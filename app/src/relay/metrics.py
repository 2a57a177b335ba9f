"""Prometheus metrics and the /metrics endpoint.

/metrics is served by every replica and refused by the load balancer (haproxy rule, ALB listener
rule), so only in-cluster scrapers reach it. Labels stay low-cardinality: routes are templates
(`/api/channels/{channel_id}/messages`), never raw paths.
"""

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, make_asgi_app
from starlette.types import ASGIApp, Receive, Scope, Send

METRICS_PATH = "/metrics"
UNMATCHED_ROUTE = "<unmatched>"

REQUEST_LATENCY = Histogram(
    "relay_http_request_duration_seconds",
    "HTTP request latency by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
REQUESTS_IN_FLIGHT = Gauge("relay_http_requests_in_flight", "HTTP requests being served now.")
SOCKET_CONNECTIONS = Gauge("relay_socket_connections", "Socket.IO connections open on this replica.")
MESSAGES_SENT = Counter("relay_messages_sent_total", "Messages accepted and stored (REST or socket).")
MESSAGES_DELIVERED = Counter(
    "relay_messages_delivered_total", "message:new events emitted to sockets on this replica."
)
SOCKET_DELIVERY_FAILURES = Counter(
    "relay_socket_delivery_failures_total",
    "Event sends to a socket of this replica that failed (the socket closed meanwhile); alarmed on.",
)
RATE_LIMIT_HITS = Counter(
    "relay_rate_limit_hits_total", "Requests or messages refused by a rate limit.", ["scope"]
)
RATE_LIMIT_FAIL_OPEN = Counter(
    "relay_rate_limit_fail_open_total",
    "Rate-limit checks answered by the replica's own buckets because Redis did not answer in time.",
)


def record_message_sent() -> None:
    MESSAGES_SENT.inc()


def record_messages_delivered(count: int = 1) -> None:
    MESSAGES_DELIVERED.inc(count)


def record_socket_delivery_failure() -> None:
    SOCKET_DELIVERY_FAILURES.inc()


def record_socket_connected() -> None:
    SOCKET_CONNECTIONS.inc()


def record_socket_disconnected() -> None:
    SOCKET_CONNECTIONS.dec()


def record_rate_limit_hit(scope: str) -> None:
    RATE_LIMIT_HITS.labels(scope=scope).inc()


def record_rate_limit_fail_open() -> None:
    RATE_LIMIT_FAIL_OPEN.inc()


class MetricsEndpoint:
    """Answers GET /metrics from the registry; everything else goes to the app."""

    def __init__(self, app: ASGIApp, *, registry: CollectorRegistry = REGISTRY) -> None:
        self.app = app
        self.exporter = make_asgi_app(registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == METRICS_PATH:
            await self.exporter(scope, receive, send)
            return
        await self.app(scope, receive, send)
