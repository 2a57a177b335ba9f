"""With Postgres unreachable, clients get a clean, retryable answer at once: REST a 503 with the §4a
error body, `message:send` an ack `{ok: false, error: {code: "unavailable"}}`, a new socket a
refused handshake. Never a 500, never an ack that does not come (a client would wait out its
10 s ack timeout), and the service answers again once the database is back. A database that is
reachable but too slow gets the same answers once RELAY_DATABASE_DEADLINE_SECONDS has passed."""

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import socketio

from tests.utils.fault_proxy import FaultProxy, Impairment
from tests.utils.postgres import PostgresDatabase
from tests.utils.relay_process import RelayProcess
from tests.utils.sockets import SocketUser
from tests.utils.tokens import SigningKeys

SHARED_POSTGRES_PORT = 5432
DATABASE_DEADLINE_SECONDS = 3.0
# Every chunk delayed this long each way: a query's round trip alone outlasts the deadline.
TOO_SLOW = Impairment(delay=2.0)


@pytest.fixture(scope="module")
def database_proxy() -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream_port=SHARED_POSTGRES_PORT).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def relay_behind_proxy(
    relay_env: dict[str, str],
    postgres_db: PostgresDatabase,
    database_proxy: FaultProxy,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RelayProcess]:
    through_proxy = postgres_db.url().replace(f":{SHARED_POSTGRES_PORT}/", f":{database_proxy.port}/", 1)
    env = {
        **relay_env,
        "RELAY_DATABASE_URL": through_proxy,
        "RELAY_DATABASE_DEADLINE_SECONDS": str(DATABASE_DEADLINE_SECONDS),
    }
    with RelayProcess.start(env, tmp_path_factory.mktemp("logs"), name="relay-proxied") as server:
        yield server


@pytest.fixture
def database_down(database_proxy: FaultProxy) -> Iterator[FaultProxy]:
    database_proxy.refuse()
    yield database_proxy
    database_proxy.heal()


def test_rest_answers_503_with_the_error_body_while_the_database_is_unreachable(
    relay_behind_proxy: RelayProcess, signing_keys: SigningKeys, database_down: FaultProxy
) -> None:
    headers = {"Authorization": f"Bearer {signing_keys.mint('db-down-rest')}"}
    started = time.monotonic()
    response = httpx.get(f"{relay_behind_proxy.url}/api/channels", headers=headers, timeout=15)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "unavailable"
    assert response.headers["Retry-After"] == "1"
    assert time.monotonic() - started < 10

    database_down.heal()
    assert httpx.get(f"{relay_behind_proxy.url}/api/channels", headers=headers, timeout=15).status_code == 200


async def send_while(
    relay: RelayProcess, keys: SigningKeys, proxy: FaultProxy, fault: Callable[[], None], name: str
) -> tuple[dict, float]:
    """A member's `message:send` while `fault` holds the database link: its ack and how long it took."""
    token = keys.mint(name)
    async with httpx.AsyncClient(base_url=relay.url, headers={"Authorization": f"Bearer {token}"}) as api:
        channel_id = (await api.post("/api/channels", json={"name": name})).json()["id"]
    user = await SocketUser(relay.url, token).connect()
    try:
        fault()
        started = time.monotonic()
        ack = await user.call(
            "message:send", {"channel_id": channel_id, "body": "hi", "client_msg_id": name[-1] * 26}
        )
        return ack, time.monotonic() - started
    finally:
        proxy.heal()
        await user.close()


async def test_a_socket_send_gets_an_unavailable_ack_at_once_while_the_database_is_unreachable(
    relay_behind_proxy: RelayProcess, signing_keys: SigningKeys, database_proxy: FaultProxy
) -> None:
    ack, took = await send_while(
        relay_behind_proxy, signing_keys, database_proxy, database_proxy.refuse, "db-down-a"
    )
    assert ack["ok"] is False
    assert ack["error"]["code"] == "unavailable"
    assert took < 10, "the ack must come before the client's ack timeout"


async def test_a_socket_handshake_is_refused_cleanly_while_the_database_is_unreachable(
    relay_behind_proxy: RelayProcess, signing_keys: SigningKeys, database_down: FaultProxy
) -> None:
    user = SocketUser(relay_behind_proxy.url, signing_keys.mint("db-down-handshake"))
    started = time.monotonic()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await user.connect()
    assert user.refusal == {"message": "unavailable"}
    assert time.monotonic() - started < 10, "refused at once, not after the client's wait"


@pytest.fixture
def database_too_slow(database_proxy: FaultProxy) -> Iterator[FaultProxy]:
    database_proxy.degrade(TOO_SLOW)
    yield database_proxy
    database_proxy.heal()


def test_rest_answers_503_by_the_deadline_while_the_database_link_is_too_slow(
    relay_behind_proxy: RelayProcess, signing_keys: SigningKeys, database_too_slow: FaultProxy
) -> None:
    headers = {"Authorization": f"Bearer {signing_keys.mint('db-slow-rest')}"}
    started = time.monotonic()
    response = httpx.get(f"{relay_behind_proxy.url}/api/channels", headers=headers, timeout=15)
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "unavailable"
    assert DATABASE_DEADLINE_SECONDS <= elapsed < DATABASE_DEADLINE_SECONDS + 2

    database_too_slow.heal()
    assert httpx.get(f"{relay_behind_proxy.url}/api/channels", headers=headers, timeout=15).status_code == 200


async def test_a_socket_send_gets_an_unavailable_ack_by_the_deadline_while_the_link_is_too_slow(
    relay_behind_proxy: RelayProcess, signing_keys: SigningKeys, database_proxy: FaultProxy
) -> None:
    too_slow = lambda: database_proxy.degrade(TOO_SLOW)  # noqa: E731
    ack, took = await send_while(relay_behind_proxy, signing_keys, database_proxy, too_slow, "db-slow-b")
    assert ack["ok"] is False
    assert ack["error"]["code"] == "unavailable"
    assert took < DATABASE_DEADLINE_SECONDS + 2
