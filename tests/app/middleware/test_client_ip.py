"""X-Forwarded-For is believed only from trusted proxies, and then only its right-most untrusted hop."""

import io
import ipaddress

import pytest

from relay.middleware.client_ip import TrustedProxies
from tests.utils.asgi_client import asgi_client
from tests.utils.edge_app import build_edge_test_app
from tests.utils.logs import access_lines
from tests.utils.redis_server import RedisServer
from tests.utils.settings import make_settings

PROXIES = TrustedProxies([ipaddress.ip_network("10.0.0.0/16"), ipaddress.ip_network("127.0.0.1")])


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("10.0.1.5", "203.0.113.7", "203.0.113.7"),
        ("10.0.1.5", "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # left hops are client-written
        ("10.0.1.5", "6.6.6.6, 203.0.113.7, 10.0.2.9", "203.0.113.7"),  # skip our own proxies
        ("10.0.1.5", "10.0.3.3, 10.0.2.9", "10.0.3.3"),  # all proxies: the furthest one
        ("10.0.1.5", "6.6.6.6, not-an-ip, 10.0.2.9", "10.0.2.9"),  # garbled: stop believing there
        ("10.0.1.5", "2001:db8::1", "2001:db8::1"),
        ("198.51.100.4", "203.0.113.7", "198.51.100.4"),  # untrusted peer: header ignored
        ("10.0.1.5", None, "10.0.1.5"),
    ],
)
def test_resolve_client_ip(peer: str, forwarded_for: str | None, client: str) -> None:
    assert PROXIES.resolve_client_ip(peer, forwarded_for) == client


async def test_trusted_proxy_forwarded_for_names_the_client(
    redis_server: RedisServer, log_output: io.StringIO
) -> None:
    app = build_edge_test_app(make_settings(redis_server.url, trusted_proxies="10.0.0.0/16"))
    async with asgi_client(app, peer="10.0.7.7") as client:
        await client.get("/api/small", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.50"})
    assert access_lines(log_output)[-1]["client_ip"] == "203.0.113.50"


async def test_untrusted_peer_forwarded_for_is_ignored(
    redis_server: RedisServer, log_output: io.StringIO
) -> None:
    app = build_edge_test_app(make_settings(redis_server.url, trusted_proxies="10.0.0.0/16"))
    async with asgi_client(app, peer="198.51.100.4") as client:
        await client.get("/api/small", headers={"X-Forwarded-For": "203.0.113.50"})
    assert access_lines(log_output)[-1]["client_ip"] == "198.51.100.4"
