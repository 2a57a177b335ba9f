"""Create or update Relay's database roles; run in the cluster by the db-roles Job before migrations.

Not part of the Pulumi program: the App component mounts this file into a Job that runs it with
the app image's Python (asyncpg and boto3 are app dependencies). It signs in as the RDS master
user, whose password RDS keeps (and rotates) in Secrets Manager, and makes sure that:

- the migrator role exists, can log in with its generated password and owns the `public` schema,
  so `relay migrate` can create and alter tables;
- the app role exists, can log in, and gets only SELECT/INSERT/UPDATE/DELETE on the tables (and
  USAGE on the sequences) the migrator creates: it cannot change the schema.

Running it again is safe: existing roles get their passwords re-set, grants are idempotent.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Roles:
    database: str
    migrator: str
    migrator_password: str
    app: str
    app_password: str


async def ensure_roles(conn: asyncpg.Connection, roles: Roles) -> None:
    """Bring both roles and their privileges to the state described above."""

    async def ident(name: str) -> str:
        return await conn.fetchval("SELECT quote_ident($1)", name)

    async def literal(value: str) -> str:
        return await conn.fetchval("SELECT quote_literal($1)", value)

    database, migrator, app = await ident(roles.database), await ident(roles.migrator), await ident(roles.app)
    for role, password in ((roles.migrator, roles.migrator_password), (roles.app, roles.app_password)):
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        verb = "ALTER" if exists else "CREATE"
        # Role names and passwords cannot be bind parameters in DDL; both are quoted by the server.
        await conn.execute(f"{verb} ROLE {await ident(role)} LOGIN PASSWORD {await literal(password)}")
    async with conn.transaction():
        # RDS's master user is not a superuser: it must be a member of a role to act for it.
        await conn.execute(f"GRANT {migrator} TO CURRENT_USER")
        await conn.execute(f"GRANT CONNECT, CREATE ON DATABASE {database} TO {migrator}")
        await conn.execute(f"GRANT CONNECT ON DATABASE {database} TO {app}")
        await conn.execute(f"ALTER SCHEMA public OWNER TO {migrator}")
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {app}")
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {migrator} IN SCHEMA public "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}"
        )
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {migrator} IN SCHEMA public "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {app}"
        )


def master_credentials(secret_arn: str, region: str) -> tuple[str, str]:
    import boto3  # only in the cluster; tests pass the credentials directly

    secret = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=secret_arn)
    value = json.loads(secret["SecretString"])
    return value["username"], value["password"]


async def main() -> int:
    env = os.environ
    user, password = master_credentials(env["MASTER_SECRET_ARN"], env["AWS_REGION"])
    roles = Roles(
        database=env["DB_NAME"],
        migrator=env["MIGRATOR_ROLE"],
        migrator_password=env["MIGRATOR_PASSWORD"],
        app=env["APP_ROLE"],
        app_password=env["APP_PASSWORD"],
    )
    # verify-full: the image points PGSSLROOTCERT at the RDS CA bundle, as for the app itself.
    conn = await asyncpg.connect(
        host=env["DB_HOST"],
        port=int(env["DB_PORT"]),
        database=roles.database,
        user=user,
        password=password,
        ssl="verify-full",
        timeout=30,
    )
    try:
        await ensure_roles(conn, roles)
    finally:
        await conn.close()
    print(f"database roles ready: {roles.migrator} (schema owner), {roles.app} (data only)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
