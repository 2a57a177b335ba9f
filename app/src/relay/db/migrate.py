"""`relay migrate`: Alembic upgrade to head with the owner role (RELAY_MIGRATION_DATABASE_URL).

When the database carries a revision this code does not know, it was migrated by a newer release
(the rollback case of expand/contract): that is not an error, so we report it and exit 0.
"""

import asyncio
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from relay.settings import Settings

MIGRATION_LOCK_KEY = 0x72656C6179  # 'relay'


@dataclass(frozen=True)
class MigrationOutcome:
    applied: bool
    message: str


def _alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(settings.migrations_dir))
    return config


def _upgrade(connection: Connection, config: Config) -> MigrationOutcome:
    # Two replicas (or a Job and a developer) may migrate at once: the second waits, then finds head.
    connection.execute(text("select pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    script = ScriptDirectory.from_config(config)
    current = MigrationContext.configure(connection).get_current_heads()
    unknown = []
    for revision in current:
        try:
            script.get_revision(revision)
        except CommandError:
            unknown.append(revision)
    if unknown:
        return MigrationOutcome(
            applied=False,
            message=f"database is at revision {', '.join(unknown)}, newer than this release's head "
            f"{script.get_current_head()}: nothing to do (expand/contract keeps it compatible)",
        )
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    return MigrationOutcome(applied=True, message=f"database at head {script.get_current_head()}")


async def migrate(settings: Settings) -> MigrationOutcome:
    engine = create_async_engine(settings.effective_migration_url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(_upgrade, _alembic_config(settings))
    finally:
        await engine.dispose()


def run_migrations(settings: Settings) -> MigrationOutcome:
    return asyncio.run(migrate(settings))
