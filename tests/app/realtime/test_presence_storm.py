"""A burst of disconnects (a replica draining, a network blip) marks every user offline at once,
not after the presence expiry: the disconnect handlers share one bounded Redis pool and must wait
for a connection rather than drop the update."""

import asyncio
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from relay.realtime.presence import PresenceTracker
from tests.utils.relay_process import RelayProcess
from tests.utils.sockets import SocketUser
from tests.utils.tokens import new_user_id

USERS = 150  # more than the replica's Redis connection pool holds at once
LONG_EXPIRY_SECONDS = "50"  # so only the disconnect handlers can clear presence within the test


@pytest.fixture(scope="module")
def slow_expiry_server(
    relay_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RelayProcess]:
    # The 150 connects of the set-up each take a database connection; with the suite's pool of 5
    # and the handshake budget's Redis check, a dozen waited past the pool's 5 s timeout on a loaded
    # machine. The subject here is the disconnect burst, so the set-up gets a production-sized pool.
    env = {**relay_env, "RELAY_PRESENCE_TTL_SECONDS": LONG_EXPIRY_SECONDS, "RELAY_DATABASE_POOL_SIZE": "10"}
    with RelayProcess.start(env, tmp_path_factory.mktemp("storm-logs"), name="storm") as server:
        yield server


async def still_online(observer: PresenceTracker, user_ids: list[str], within: float) -> set[str]:
    """Users still online after up to `within` seconds (polled: presence lives in Redis)."""
    for _ in range(int(within / 0.2)):
        if not (online := await observer.online(user_ids)):
            return online
        await asyncio.sleep(0.2)
    return await observer.online(user_ids)


async def test_a_burst_of_disconnects_marks_every_user_offline(
    slow_expiry_server, redis_server, signing_keys
) -> None:
    user_ids = [new_user_id("storm") for _ in range(USERS)]
    sockets = await asyncio.gather(
        *(SocketUser(slow_expiry_server.url, signing_keys.mint(user_id)).connect() for user_id in user_ids)
    )
    observer = PresenceTracker(Redis.from_url(redis_server.url), "observer", ttl=float(LONG_EXPIRY_SECONDS))
    assert await observer.online(user_ids) == set(user_ids)

    await asyncio.gather(*(socket.close() for socket in sockets))

    left_online = await still_online(observer, user_ids, within=10)
    assert left_online == set(), f"{len(left_online)} of {USERS} users still shown online after disconnecting"
