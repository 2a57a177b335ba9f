"""A replica whose database and Redis links froze still stops promptly after SIGTERM, with no error:
a finished request's database session closed before its response was sent, so no request task is
left waiting on the frozen link for uvicorn's graceful shutdown (10 s) to cancel it with a
traceback; the lifespan's cleanup steps each have their own bound (the notification drain's 5 s,
Redis's 2 s socket timeout). infra/workload.py gives a pod 15 s after its drain."""

import signal
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.utils.fault_proxy import FaultProxy, Impairment
from tests.utils.postgres import PostgresDatabase
from tests.utils.relay_process import RelayProcess
from tests.utils.tokens import SigningKeys

POSTGRES_PORT, REDIS_PORT = 5432, 6379
# Every byte each way held for a minute: connections that no longer answer.
FROZEN = Impairment(delay=60.0)
# The notification drain's bound, and the moment asyncpg then takes to give up on the cancel request.
SHUTDOWN_SECONDS = 8.0


@pytest.fixture
def database_link() -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream_port=POSTGRES_PORT).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def redis_link() -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream_port=REDIS_PORT).start()
    yield proxy
    proxy.stop()


def test_a_replica_whose_database_and_redis_froze_stops_promptly_and_without_errors(
    relay_env: dict[str, str],
    postgres_db: PostgresDatabase,
    database_link: FaultProxy,
    redis_link: FaultProxy,
    signing_keys: SigningKeys,
    tmp_path,
) -> None:
    env = {
        **relay_env,
        "RELAY_DATABASE_URL": postgres_db.url().replace(f":{POSTGRES_PORT}/", f":{database_link.port}/", 1),
        "RELAY_REDIS_URL": relay_env["RELAY_REDIS_URL"].replace(f":{REDIS_PORT}", f":{redis_link.port}", 1),
        "RELAY_LOG_LEVEL": "INFO",
    }
    server = RelayProcess.start(env, tmp_path, name="frozen-links")
    try:
        headers = {"Authorization": f"Bearer {signing_keys.mint('frozen-links')}"}
        assert httpx.get(f"{server.url}/api/channels", headers=headers).status_code == 200
        database_link.degrade(FROZEN)
        redis_link.degrade(FROZEN)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=60)
        took = time.monotonic() - started
    finally:
        server.kill()
    log = server.log_file.read_text()
    assert took <= SHUTDOWN_SECONDS, (took, log[-3000:])
    assert "Application shutdown complete" in log, log[-3000:]
    assert '"level":"ERROR"' not in log, log[-3000:]
