"""`relay migrate`: upgrades with the owner role, is idempotent, and exits 0 when the DB is ahead."""

import asyncio
from pathlib import Path

import asyncpg
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.utils.postgres import APP, PostgresDatabase
from tests.utils.relay_process import relay_environment, run_relay

MIGRATIONS = Path(__file__).resolve().parents[3] / "app" / "migrations"


def _code_head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


async def _execute(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def fresh_env(redis_server, signing_keys, s3_server):
    db = PostgresDatabase.create("relay_migrate_test")
    yield db, relay_environment(db, redis_server.url, signing_keys, s3_server.url, s3_server.bucket)
    db.drop()


def test_migrate_twice_is_a_no_op_the_second_time(fresh_env) -> None:
    _db, env = fresh_env
    first, second = run_relay(env, "migrate"), run_relay(env, "migrate")
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert f"head {_code_head()}" in second.stdout


def test_database_ahead_of_the_code_exits_0_with_a_message(fresh_env) -> None:
    db, env = fresh_env
    assert run_relay(env, "migrate").returncode == 0
    asyncio.run(_execute(db.dsn(), "UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    result = run_relay(env, "migrate")
    assert result.returncode == 0, result.stderr
    assert "9999_from_the_future" in result.stdout and "newer" in result.stdout


def test_app_role_can_write_rows_but_not_change_the_schema(fresh_env) -> None:
    db, env = fresh_env
    assert run_relay(env, "migrate").returncode == 0
    asyncio.run(_execute(db.dsn(APP), "INSERT INTO users (id, name) VALUES ('probe', 'Probe')"))
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        asyncio.run(_execute(db.dsn(APP), "CREATE TABLE intruder (id int)"))
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        asyncio.run(_execute(db.dsn(APP), "DROP TABLE messages"))
