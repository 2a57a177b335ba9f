"""Session-scoped fixtures over tests/utils (loaded for every suite by tests/conftest.py).

- `postgres_db`: a private database with roles and default privileges, dropped afterwards.
- `redis_server`, `s3_server`: private redis-server and moto instances on free ports.
- `signing_keys`: RSA key pair files; `signing_keys.mint("alice")` makes a valid token.
- `relay_env`: RELAY_* variables for local mode against the above; migrations already applied.
- `relay_server`: one real `relay serve` process shared by the session (tests use unique users).
- `relay_server_b`: a second replica on the same database and Redis (cross-replica tests).
- `api`: `api("alice")` returns an httpx.Client for relay_server authenticated as that user.
"""

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.utils.postgres import PostgresDatabase
from tests.utils.redis_server import RedisServer
from tests.utils.relay_process import RelayProcess, relay_environment, run_migrations_cli
from tests.utils.s3_server import S3Server
from tests.utils.tokens import SigningKeys


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[PostgresDatabase]:
    db = PostgresDatabase.create()
    yield db
    db.drop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = S3Server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> SigningKeys:
    return SigningKeys.create(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def relay_env(
    postgres_db: PostgresDatabase, redis_server: RedisServer, signing_keys: SigningKeys, s3_server: S3Server
) -> dict[str, str]:
    env = relay_environment(postgres_db, redis_server.url, signing_keys, s3_server.url, s3_server.bucket)
    run_migrations_cli(env)
    return env


@pytest.fixture(scope="session")
def relay_server(
    relay_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RelayProcess]:
    with RelayProcess.start(relay_env, tmp_path_factory.mktemp("logs")) as server:
        yield server


@pytest.fixture(scope="session")
def relay_server_b(
    relay_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RelayProcess]:
    with RelayProcess.start(relay_env, tmp_path_factory.mktemp("logs"), name="relay-b") as server:
        yield server


@pytest.fixture
def api(relay_server: RelayProcess, signing_keys: SigningKeys) -> Iterator[Callable[[str], httpx.Client]]:
    clients: list[httpx.Client] = []

    def client_for(user_id: str) -> httpx.Client:
        client = httpx.Client(
            base_url=f"{relay_server.url}/api",
            timeout=10,
            headers={"Authorization": f"Bearer {signing_keys.mint(user_id)}"},
        )
        clients.append(client)
        return client

    yield client_for
    for client in clients:
        client.close()
