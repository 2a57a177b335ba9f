"""Notifications survive a replica killed right after it acknowledged the message (issue 9).

To make "right after" deterministic, the test holds a lock that blocks every INSERT into
`notifications` (the messages themselves never touch that table, so sends are acknowledged as
usual). The replica that took the messages is then killed with SIGKILL while its notification
work waits on that lock; once the lock goes, another replica must produce every notification.
A replica that kept the work only in its memory loses it here.
"""

import asyncio
import time

import asyncpg
import httpx

from tests.utils.postgres import PostgresDatabase
from tests.utils.relay_process import RelayProcess
from tests.utils.tokens import new_user_id

MESSAGES = 5
RECOVERY_SECONDS = 15


def _client(server: RelayProcess, signing_keys, user_id: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/api",
        headers={"Authorization": f"Bearer {signing_keys.mint(user_id)}"},
        timeout=10,
    )


async def _listed(client: httpx.Client, message_ids: set[str]) -> set[str]:
    found = (await asyncio.to_thread(client.get, "/notifications", params={"limit": 100})).json()
    return {n["message_id"] for n in found["notifications"]} & message_ids


async def test_notifications_of_acknowledged_messages_outlive_a_killed_replica(
    relay_env, relay_server, postgres_db: PostgresDatabase, signing_keys, tmp_path
) -> None:
    doomed = RelayProcess.start(relay_env, tmp_path, name="doomed")
    author_id, reader_id = new_user_id("author"), new_user_id("reader")
    author, reader = _client(doomed, signing_keys, author_id), _client(relay_server, signing_keys, reader_id)
    lock = await asyncpg.connect(postgres_db.dsn())
    try:
        channel = author.post("/channels", json={"name": "durable"}).json()["id"]
        assert reader.post(f"/channels/{channel}/join").status_code == 200
        transaction = lock.transaction()
        await transaction.start()
        await lock.execute("LOCK TABLE notifications IN SHARE ROW EXCLUSIVE MODE")
        sent = set()
        for index in range(MESSAGES):
            answer = author.post(
                f"/channels/{channel}/messages",
                json={"body": f"@{reader_id} number {index}", "client_msg_id": new_user_id("cm")},
            )
            assert answer.status_code == 201, answer.text  # acknowledged: the message is committed
            sent.add(answer.json()["id"])
        doomed.kill()
        await transaction.rollback()

        deadline = time.monotonic() + RECOVERY_SECONDS
        while (found := await _listed(reader, sent)) != sent:
            assert time.monotonic() < deadline, f"{len(sent - found)} of {MESSAGES} notifications lost"
            await asyncio.sleep(0.2)
        listed = (await asyncio.to_thread(reader.get, "/notifications", params={"limit": 100})).json()
        mine = [n for n in listed["notifications"] if n["message_id"] in sent]
        assert len(mine) == MESSAGES and {n["kind"] for n in mine} == {"mention"}
    finally:
        await lock.close()
        doomed.kill()
        author.close()
        reader.close()
