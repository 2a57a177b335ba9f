"""Relay's local production topology: haproxy (TLS, sticky cookie) -> supervised relay replicas ->
Postgres, Redis and an S3-compatible server, on one machine (DESIGN.md §1, §3).

`make up` drives it through `python -m topology`; tests start the same code on free ports.
"""

from topology.layout import Layout, Ports
from topology.stack import Topology

__all__ = ["Layout", "Ports", "Topology"]
