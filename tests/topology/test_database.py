"""The database bootstrap gives the contract's two roles: relay_owner owns the schema, relay_app
reads and writes rows but cannot change the schema (SERVICE-CONTRACT.md "Database roles")."""

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from topology import database
from topology.layout import APP_ROLE, OWNER_ROLE, Ports

PORTS = Ports()  # the shared Postgres at 127.0.0.1:5432


@pytest.fixture
def bootstrapped() -> Iterator[str]:
    name = f"relay_bootstrap_{uuid.uuid4().hex[:12]}"
    assert database.bootstrap(PORTS, name) is True
    try:
        yield name
    finally:
        database.drop(PORTS, name)


async def run_as(role: str, name: str, statement: str) -> object:
    connection = await asyncpg.connect(database.url(PORTS, user=role, database=name))
    try:
        return await connection.fetchval(statement)
    finally:
        await connection.close()


def test_bootstrap_is_idempotent(bootstrapped: str) -> None:
    assert database.bootstrap(PORTS, bootstrapped) is False


def test_the_app_role_writes_rows_of_tables_the_owner_creates(bootstrapped: str) -> None:
    asyncio.run(run_as(OWNER_ROLE, bootstrapped, "CREATE TABLE notes (id serial PRIMARY KEY, body text)"))
    inserted = asyncio.run(
        run_as(APP_ROLE, bootstrapped, "INSERT INTO notes (body) VALUES ('hi') RETURNING id")
    )
    assert inserted == 1


def test_the_app_role_cannot_change_the_schema(bootstrapped: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        asyncio.run(run_as(APP_ROLE, bootstrapped, "CREATE TABLE intruder (id int)"))


def test_database_names_are_checked_before_reaching_ddl() -> None:
    with pytest.raises(ValueError, match="relay; DROP"):
        database.bootstrap(PORTS, "relay; DROP DATABASE postgres")
