"""Client IP resolution: X-Forwarded-For is believed only when the peer is a trusted proxy.

uvicorn runs with proxy_headers off (SERVICE-CONTRACT.md), so this is the only place that reads
X-Forwarded-For. Each proxy appends the address it received the request from, so the right-most
address that is not one of our proxies is the client; anything left of it was written by the
client and can be forged.
"""

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    def __init__(self, networks: Iterable[IPNetwork | str]) -> None:
        """`networks`: IPs or CIDRs, as RELAY_TRUSTED_PROXIES lists them (validated by Settings)."""
        self.networks = tuple(ipaddress.ip_network(network, strict=False) for network in networks)
        # Peers repeat (the load balancer's few addresses), so cache the membership test.
        self.contains = lru_cache(maxsize=1024)(self._contains)

    def _contains(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def resolve_client_ip(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The right-most X-Forwarded-For hop that is not a trusted proxy, if the peer is trusted."""
        if peer is None or forwarded_for is None or not self.contains(peer):
            return peer
        client = peer
        for hop in reversed(forwarded_for.split(",")):
            hop = hop.strip()
            if not _is_ip(hop):
                break  # garbled: nothing left of here is believable, keep the last proxy we trust
            client = hop
            if not self.contains(hop):
                break
        return client


@lru_cache(maxsize=4096)
def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
