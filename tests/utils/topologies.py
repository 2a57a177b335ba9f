"""A real topology for a test suite: free ports, its own Redis, its own database on the shared Postgres.

So a suite never disturbs a running `make up` or another suite (DESIGN.md §3, `make test`).
"""

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

from topology import Ports, Topology, database

SHARED_POSTGRES_PORT = 5432


@contextlib.contextmanager
def running_topology(workdir: Path, database_prefix: str) -> Iterator[Topology]:
    ports = Ports.on_free_ports(postgres=SHARED_POSTGRES_PORT)
    stack = Topology(
        ports=ports,
        workdir=workdir,
        database=f"{database_prefix}_{uuid.uuid4().hex[:12]}",
        drain_seconds=0,
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        database.drop(ports, stack.database)
