"""On a machine without Postgres, the topology runs its own cluster; here on a free port beside the
shared server, which it must leave alone."""

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from topology import database, postgres_server
from topology.layout import APP_ROLE, Layout, Ports
from topology.processes import free_port, port_open


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Not under pytest's tmp_path: that is private to root, and Postgres runs as its own user.
    path = Path(tempfile.mkdtemp(prefix="relay-pg-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_an_own_cluster_starts_serves_the_roles_and_stops(workdir: Path) -> None:
    layout, ports = Layout(workdir), Ports(postgres=free_port())
    layout.create()
    pid = postgres_server.start(ports, layout)
    try:
        assert postgres_server.running_pid(layout) == pid
        assert database.bootstrap(ports, "relay") is True

        async def connect_as_app() -> object:
            connection = await asyncpg.connect(database.url(ports, user=APP_ROLE, database="relay"))
            try:
                return await connection.fetchval("SELECT current_user")
            finally:
                await connection.close()

        assert asyncio.run(connect_as_app()) == APP_ROLE
    finally:
        assert postgres_server.stop(layout) == pid
    assert not port_open(ports.postgres)
    assert (layout.postgres_data / "PG_VERSION").exists(), "make down keeps the data"
    assert port_open(5432), "the shared server is untouched"
