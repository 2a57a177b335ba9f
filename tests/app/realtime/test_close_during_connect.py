"""A client that goes away while its connect handler is still running leaves nothing behind.

The connect handler reads Postgres and Redis before the socket counts as connected. A client can
close its transport in that time (its own connect timeout, a page reload, a generator killed mid-run).
The server then ends the session before the handler has registered the user, so the disconnect
handler found nobody to clean up; the connect handler finished afterwards and recorded a socket that
no longer existed: the user stayed online for good and `relay_socket_connections` never came down.
Here the replica's database link is slowed (a fault proxy adds 0.3 s each way) so the handler is
still running when the client closes; both socket servers must end with the user offline and the
gauge back where it was.
"""

import asyncio
import json
from urllib.parse import urlsplit

import aiohttp
import httpx
import pytest

from tests.utils.fault_proxy import FaultProxy, Impairment
from tests.utils.relay_process import RelayProcess
from tests.utils.sockets import SOCKETIO_PATH
from tests.utils.tokens import new_user_id

SLOW_DATABASE = Impairment(delay=0.3)


def connections_gauge(replica: RelayProcess) -> float:
    metrics = httpx.get(f"{replica.url}/metrics").text
    line = next(line for line in metrics.splitlines() if line.startswith("relay_socket_connections "))
    return float(line.split()[1])


async def open_and_abandon(replica: RelayProcess, token: str) -> None:
    """Engine.IO open, Socket.IO CONNECT with the token, then close before the server can answer."""
    url = f"ws://127.0.0.1:{replica.port}{SOCKETIO_PATH}/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as websocket:
        opened = await websocket.receive_str(timeout=5)
        assert opened.startswith("0{"), opened
        await websocket.send_str("40" + json.dumps({"token": token}))
        await asyncio.sleep(0.3)  # the handler is now waiting on the slowed database


@pytest.mark.parametrize("socket_server", ["python-socketio", "native"])
async def test_a_client_gone_during_its_connect_handler_is_not_left_online(
    socket_server, relay_env, signing_keys, tmp_path
) -> None:
    database_url = urlsplit(relay_env["RELAY_DATABASE_URL"])
    database = FaultProxy(upstream_port=database_url.port).start()
    env = {
        **relay_env,
        "RELAY_SOCKET_SERVER": socket_server,
        "RELAY_DATABASE_URL": database_url._replace(netloc=f"127.0.0.1:{database.port}").geturl(),
    }
    replica = RelayProcess.start(env, tmp_path, name=f"close-during-connect-{socket_server}")
    watcher_id, leaver_id = new_user_id("watcher"), new_user_id("leaver")
    watcher = httpx.AsyncClient(
        base_url=f"{replica.url}/api", headers={"Authorization": f"Bearer {signing_keys.mint(watcher_id)}"}
    )
    leaver = httpx.AsyncClient(
        base_url=f"{replica.url}/api", headers={"Authorization": f"Bearer {signing_keys.mint(leaver_id)}"}
    )
    try:
        channel = (await watcher.post("/channels", json={"name": "room"})).json()
        assert (await leaver.post(f"/channels/{channel['id']}/join")).status_code == 200
        before = connections_gauge(replica)

        database.degrade(SLOW_DATABASE)
        await open_and_abandon(replica, signing_keys.mint(leaver_id))
        database.heal()

        async def leaver_status() -> str:
            users = (await watcher.get("/users", params={"q": leaver_id})).json()["users"]
            return next(user["status"] for user in users if user["id"] == leaver_id)

        await asyncio.sleep(3)  # the handler's round trips finish well within this
        assert connections_gauge(replica) == before
        assert await leaver_status() == "offline"
    finally:
        await watcher.aclose()
        await leaver.aclose()
        replica.stop()
        database.stop()
