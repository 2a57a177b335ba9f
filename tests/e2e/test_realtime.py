"""Two users pinned to DIFFERENT replicas through haproxy exchange messages in real time, over
websocket and over long-polling, with the python-socketio client and the official JS client."""

import asyncio
import json
import uuid
from asyncio.subprocess import PIPE
from collections.abc import Callable
from pathlib import Path

import pytest

from topology import Topology
from topology.chat import ChatUser, create_shared_channel
from topology.layout import REPLICA_NAMES, STICKY_COOKIE

TRANSPORTS = ["websocket", "polling"]
JS_CLIENT = Path(__file__).parent / "js" / "exchange.mjs"


def pair(topology: Topology, mint: Callable[[str], str], transport: str) -> tuple[ChatUser, ChatUser]:
    context = topology.ssl_context()
    first, second = REPLICA_NAMES
    return (
        ChatUser(topology.url, mint("alice"), context, replica=first, transports=(transport,)),
        ChatUser(topology.url, mint("bob"), context, replica=second, transports=(transport,)),
    )


async def receive(user: ChatUser, message_id: str) -> dict[str, object]:
    while (message := await user.next_message(wait_seconds=10))["id"] != message_id:
        pass
    return message


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_python_clients_on_different_replicas_exchange_messages(
    healthy: Topology, mint: Callable[[str], str], transport: str
) -> None:
    alice, bob = pair(healthy, mint, transport)
    channel_id = await create_shared_channel(alice, bob, name=f"e2e-{uuid.uuid4().hex[:8]}")
    await alice.connect()
    await bob.connect()
    try:
        assert (alice.transport, bob.transport) == (transport, transport)
        sent = await alice.send(channel_id, "hello from r1")
        assert (await receive(bob, sent["id"]))["body"] == "hello from r1"
        reply = await bob.send(channel_id, "hello from r2")
        assert (await receive(alice, reply["id"]))["body"] == "hello from r2"
        assert reply["seq"] > sent["seq"]
    finally:
        await alice.close()
        await bob.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_js_clients_on_different_replicas_exchange_messages(
    healthy: Topology, mint: Callable[[str], str], transport: str
) -> None:
    alice, bob = pair(healthy, mint, transport)
    channel_id = await create_shared_channel(alice, bob, name=f"e2e-js-{uuid.uuid4().hex[:8]}")
    body = f"from socket.io-client over {transport}"
    request = {
        "url": healthy.url,
        "ca": str(healthy.layout.ca_cert),
        "cookie": STICKY_COOKIE,
        "transport": transport,
        "channel_id": channel_id,
        "body": body,
        "sender": {"token": alice.token, "replica": alice.replica},
        "receiver": {"token": bob.token, "replica": bob.replica},
    }
    node = await asyncio.create_subprocess_exec("node", str(JS_CLIENT), stdin=PIPE, stdout=PIPE, stderr=PIPE)
    stdout, stderr = await asyncio.wait_for(node.communicate(json.dumps(request).encode()), 30)
    assert node.returncode == 0, stderr.decode()
    result = json.loads(stdout)
    assert result["transports"] == [transport, transport]
    assert result["received"]["id"] == result["sent"]["id"]
    assert result["received"]["body"] == body
    assert result["received"]["channel_id"] == channel_id
