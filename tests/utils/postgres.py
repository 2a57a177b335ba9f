"""A uniquely named database on the shared Postgres server, with the contract's roles.

`relay_owner` owns the schema and runs migrations; `relay_app` gets DML only, through default
privileges set here (SERVICE-CONTRACT "Database roles"). Roles are cluster-wide and shared by
concurrent suites, so they are created only when absent and never dropped; the database is ours
and dropped at the end.
"""

import asyncio
import os
import uuid
from dataclasses import dataclass

import asyncpg

ADMIN_DSN = os.environ.get("RELAY_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
OWNER, APP = "relay_owner", "relay_app"

_ROLES = f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER}') THEN CREATE ROLE {OWNER} LOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP}') THEN CREATE ROLE {APP} LOGIN; END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;  -- another suite created it first
END $$;
"""

_PRIVILEGES = f"""
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO {APP};
ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP};
ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP};
"""


def _dsn_for(database: str, user: str = "postgres") -> str:
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgres@", f"{user}@", 1)
    return f"{base}/{database}"


async def _admin(statements: str, database: str = "postgres") -> None:
    connection = await asyncpg.connect(_dsn_for(database))
    try:
        await connection.execute(statements)
    finally:
        await connection.close()


@dataclass(frozen=True)
class PostgresDatabase:
    name: str

    @classmethod
    def create(cls, prefix: str = "relay_test") -> "PostgresDatabase":
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"

        async def setup() -> None:
            await _admin(_ROLES)
            await _admin(f'CREATE DATABASE "{name}" OWNER {OWNER}')
            await _admin(
                f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC; GRANT CONNECT ON DATABASE "{name}" TO {APP}'
            )
            await _admin(_PRIVILEGES, database=name)

        asyncio.run(setup())
        return cls(name)

    def url(self, role: str = APP) -> str:
        """SQLAlchemy asyncpg URL for `role` (relay_app for the service, relay_owner for migrations)."""
        return _dsn_for(self.name, role).replace("postgresql://", "postgresql+asyncpg://", 1)

    def dsn(self, role: str = "postgres") -> str:
        """Plain asyncpg DSN, for assertions made directly against the database."""
        return _dsn_for(self.name, role)

    def drop(self) -> None:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
