"""`relay serve` with RELAY_SOCKET_SERVER=native named explicitly (the default, which the full socket
suites run against): two replicas on one database and Redis, the same handlers as python-socketio's,
on the main port and on the socket path's own listener."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import socketio

from tests.utils.ports import free_port
from tests.utils.relay_process import RelayProcess
from tests.utils.sockets import SocketUser
from tests.utils.tokens import new_user_id


@pytest.fixture(scope="module")
def native_pair(relay_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[list]:
    """Two native replicas; each yields (main URL, socket listener URL)."""
    started = []
    try:
        for name in ("native-a", "native-b"):
            socket_port = free_port()
            env = {**relay_env, "RELAY_SOCKET_SERVER": "native", "RELAY_SOCKET_PORT": str(socket_port)}
            server = RelayProcess.start(env, Path(tmp_path_factory.mktemp("logs")), name=name)
            started.append((server, f"http://127.0.0.1:{socket_port}"))
        yield [(server.url, socket_url) for server, socket_url in started]
    finally:
        for server, _url in started:
            server.stop()


async def test_messages_reach_the_other_replica_through_either_listener(native_pair, signing_keys) -> None:
    (main_a, _socket_a), (_main_b, socket_b) = native_pair
    alice_id, bob_id = new_user_id("alice"), new_user_id("bob")
    async with (
        httpx.AsyncClient(
            base_url=f"{main_a}/api", headers={"Authorization": f"Bearer {signing_keys.mint(alice_id)}"}
        ) as alice_http,
        httpx.AsyncClient(
            base_url=f"{main_a}/api", headers={"Authorization": f"Bearer {signing_keys.mint(bob_id)}"}
        ) as bob_http,
    ):
        channel = (await alice_http.post("/channels", json={"name": "native"})).json()["id"]
        assert (await bob_http.post(f"/channels/{channel}/join")).status_code == 200
    # alice polls (then upgrades) on replica A's main port; bob is on replica B's socket listener.
    alice = await SocketUser(
        main_a, signing_keys.mint(alice_id), transports=["polling", "websocket"]
    ).connect()
    bob = await SocketUser(socket_b, signing_keys.mint(bob_id)).connect()
    try:
        ack = await alice.call("message:send", {"channel_id": channel, "body": "hi", "client_msg_id": "n1"})
        assert ack["ok"] is True, ack
        assert await bob.wait_for("message:new") == ack["message"]
        assert await alice.wait_for("message:new") == ack["message"]
        await bob.client.emit("typing", {"channel_id": channel})
        assert await alice.wait_for("typing") == {"channel_id": channel, "user_id": bob_id}
        refused = await alice.call("message:send", {"channel_id": channel, "body": "", "client_msg_id": "n2"})
        assert refused["ok"] is False and refused["error"]["code"]
    finally:
        await alice.close()
        await bob.close()


async def test_a_bad_token_gets_connect_error_with_the_reason(native_pair) -> None:
    (main_a, _socket_a), _b = native_pair
    user = SocketUser(main_a, "not-a-token")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await user.connect()
    assert user.refusal["message"], user.refusal


async def test_rest_still_answers_on_the_main_port_and_the_socket_listener_serves_only_sockets(
    native_pair,
) -> None:
    (main_a, socket_a), _b = native_pair
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{main_a}/healthz")).status_code == 200
        assert (await client.get(f"{socket_a}/healthz")).status_code == 404
        handshake = await client.get(f"{socket_a}/api/socketio/", params={"EIO": "4", "transport": "polling"})
        assert handshake.status_code == 200 and handshake.text.startswith("0{")
