"""The relay database and its two roles on a Postgres server (DESIGN.md §4, SERVICE-CONTRACT
"Database roles"): `relay_owner` owns the schema and runs migrations; `relay_app` gets DML only,
through default privileges, so the service cannot change the schema it runs on.

Every statement is idempotent: `make up` runs it on each start, tests for each fresh database.
"""

import asyncio
import re

import asyncpg

from topology.layout import APP_ROLE, OWNER_ROLE, Ports

ADMIN_USER = "postgres"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _checked(identifier: str) -> str:
    """Database names are interpolated into DDL (which takes no parameters), so only plain ones pass."""
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"database name {identifier!r} must match {_IDENTIFIER.pattern}")
    return identifier


def url(ports: Ports, *, user: str, database: str, driver: str = "postgresql") -> str:
    return f"{driver}://{user}@127.0.0.1:{ports.postgres}/{database}"


_CREATE_ROLES = f"""
DO $$
BEGIN
    CREATE ROLE {OWNER_ROLE} LOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
DO $$
BEGIN
    CREATE ROLE {APP_ROLE} LOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
"""

_GRANTS = f"""
REVOKE ALL ON DATABASE {{database}} FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE {{database}} TO {APP_ROLE};
GRANT USAGE ON SCHEMA public TO {APP_ROLE};
ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER_ROLE} IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};
ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER_ROLE} IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
"""


async def _bootstrap(ports: Ports, database: str) -> bool:
    admin = await asyncpg.connect(url(ports, user=ADMIN_USER, database="postgres"))
    try:
        await admin.execute(_CREATE_ROLES)
        created = not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if created:
            try:
                await admin.execute(f"CREATE DATABASE {database} OWNER {OWNER_ROLE}")
            except asyncpg.DuplicateDatabaseError:
                created = False
    finally:
        await admin.close()
    # The owner of the database owns schema `public` (pg_database_owner, Postgres 15), so grants
    # on it and default privileges are given from inside the database.
    inside = await asyncpg.connect(url(ports, user=ADMIN_USER, database=database))
    try:
        await inside.execute(_GRANTS.format(database=database))
    finally:
        await inside.close()
    return created


def bootstrap(ports: Ports, database: str) -> bool:
    """Create the roles, the database (owned by relay_owner) and relay_app's grants; True when the
    database was created now."""
    return asyncio.run(_bootstrap(ports, _checked(database)))


async def _drop(ports: Ports, database: str) -> None:
    admin = await asyncpg.connect(url(ports, user=ADMIN_USER, database="postgres"))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    finally:
        await admin.close()


def drop(ports: Ports, database: str) -> None:
    """Drop a database this topology created (tests' own databases only; `make down` keeps data)."""
    asyncio.run(_drop(ports, _checked(database)))
