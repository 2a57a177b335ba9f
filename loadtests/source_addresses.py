"""Spread the generator's loopback connections over many 127.0.0.0/8 source addresses.

Every simulated user would otherwise come from 127.0.0.1, and the per-IP limits (REST 100/s,
Socket.IO handshakes 20/s, DESIGN §4) would grade the generator instead of the service. haproxy
passes its TCP peer on as X-Forwarded-For, so each source address here is a client IP to the app.

Linux routes all of 127.0.0.0/8 to the loopback interface, so binding needs no set-up. Only
connections to loopback destinations are bound: a run against a real deployment leaves the
kernel's choice alone (see README, "Per-IP limits", for AWS). The patch is on gevent's socket,
which locust installs as `socket.socket`, so websocket, polling, FastHttpUser and requests all pass
through it.
"""

import ipaddress
import itertools
import socket
import threading

import gevent.socket

DEFAULT_NETWORK = "127.0.1.0/24"


class SourceAddresses:
    def __init__(self, network: str = DEFAULT_NETWORK) -> None:
        hosts = [str(host) for host in ipaddress.ip_network(network).hosts()]
        if not hosts or not all(ipaddress.ip_address(h).is_loopback for h in hosts):
            raise ValueError(
                f"LOADTEST_SOURCE_NETWORK={network} must be a loopback network inside 127.0.0.0/8"
            )
        self.hosts = tuple(hosts)
        self._next = itertools.cycle(self.hosts)
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            return next(self._next)


def _is_loopback_target(sock: socket.socket, address: object) -> bool:
    if sock.family != socket.AF_INET or not isinstance(address, tuple):
        return False
    try:
        return ipaddress.ip_address(address[0]).is_loopback
    except ValueError:  # a host name: resolved by the caller before connect in every client we use
        return False


def install(sources: SourceAddresses) -> None:
    """Bind every unbound IPv4 socket that connects to a loopback address to the next source."""
    socket_class = gevent.socket.socket
    original = socket_class.connect

    def connect(self: socket.socket, address: object) -> None:
        if _is_loopback_target(self, address) and self.getsockname()[1] == 0:
            self.bind((sources.next(), 0))
        original(self, address)

    socket_class.connect = connect
