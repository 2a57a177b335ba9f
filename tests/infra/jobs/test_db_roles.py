"""The db-roles job against a real PostgreSQL: schema owner for migrations, data-only app role."""

import uuid

import asyncpg
import pytest

from infra.jobs.db_roles import Roles, ensure_roles

SERVER = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}  # the machine's shared server


@pytest.fixture
async def database():
    """A database and role names of this test's own, removed afterwards."""
    suffix = uuid.uuid4().hex[:10]
    name = f"relay_roles_{suffix}"
    admin = await asyncpg.connect(database="postgres", **SERVER)
    await admin.execute(f'CREATE DATABASE "{name}"')
    roles = Roles(
        database=name,
        migrator=f"rt_{suffix}_migrator",
        migrator_password="m-" + suffix,
        app=f"rt_{suffix}_app",
        app_password="a-" + suffix,
    )
    try:
        yield roles
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for role in (roles.app, roles.migrator):
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


async def connect(roles: Roles) -> asyncpg.Connection:
    return await asyncpg.connect(database=roles.database, **SERVER)


async def test_migrator_owns_the_schema_and_the_app_role_only_reads_and_writes_data(database):
    conn = await connect(database)
    try:
        await ensure_roles(conn, database)
        await conn.execute(f'SET ROLE "{database.migrator}"')
        await conn.execute("CREATE TABLE messages (id bigserial PRIMARY KEY, body text NOT NULL)")
        await conn.execute(f'SET ROLE "{database.app}"')
        await conn.execute("INSERT INTO messages (body) VALUES ('hello')")
        assert await conn.fetchval("SELECT body FROM messages") == "hello"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE intruder (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DROP TABLE messages")
    finally:
        await conn.close()


async def test_both_roles_can_log_in(database):
    conn = await connect(database)
    try:
        await ensure_roles(conn, database)
        rows = await conn.fetch(
            "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole FROM pg_roles "
            "WHERE rolname = ANY($1::text[])",
            [database.migrator, database.app],
        )
    finally:
        await conn.close()
    assert {r["rolname"]: (r["rolcanlogin"], r["rolsuper"], r["rolcreaterole"]) for r in rows} == {
        database.migrator: (True, False, False),
        database.app: (True, False, False),
    }


async def test_running_again_is_safe_and_resets_passwords(database):
    conn = await connect(database)
    try:
        await ensure_roles(conn, database)
        first = await conn.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", database.app)
        rotated = Roles(**{**database.__dict__, "app_password": "rotated-password"})
        await ensure_roles(conn, rotated)
        second = await conn.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", database.app)
    finally:
        await conn.close()
    assert first and second and first != second
