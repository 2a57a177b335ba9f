"""The smoke verification `make up` ends with: health through haproxy, sign-in with a minted token,
and a message between two users connected to different replicas. Raises TopologyError on the first failure.
"""

import asyncio
import uuid

from topology.chat import ChatUser, create_shared_channel
from topology.errors import TopologyError
from topology.layout import REPLICA_NAMES
from topology.stack import Topology


async def _message_across_replicas(topology: Topology, alice_token: str, bob_token: str) -> str:
    context = topology.ssl_context()
    alice = ChatUser(topology.url, alice_token, context, replica=REPLICA_NAMES[0])
    bob = ChatUser(topology.url, bob_token, context, replica=REPLICA_NAMES[1])
    channel_id = await create_shared_channel(alice, bob, name=f"smoke-{uuid.uuid4().hex[:8]}")
    await alice.connect()
    await bob.connect()
    try:
        body = f"smoke {uuid.uuid4()}"
        sent = await alice.send(channel_id, body)
        while (received := await bob.next_message(wait_seconds=10))["id"] != sent["id"]:
            pass
        if received["body"] != body:
            raise TopologyError(f"bob received {received['body']!r}, alice sent {body!r}")
    finally:
        await alice.close()
        await bob.close()
    return f"alice on {alice.replica} -> bob on {bob.replica}: message {sent['id']} delivered over websocket"


def run_smoke(topology: Topology) -> list[str]:
    passed = []
    with topology.client() as client:
        response = client.get("/healthz")
        if response.status_code != 200:
            raise TopologyError(f"GET {topology.url}/healthz through haproxy answered {response.status_code}")
    passed.append(f"GET {topology.url}/healthz -> 200 (TLS verified with {topology.layout.ca_cert.name})")

    alice, bob = topology.token("smoke-alice"), topology.token("smoke-bob")
    with topology.client(headers={"Authorization": f"Bearer {alice}"}) as client:
        me = client.get("/api/me")
        if me.status_code != 200:
            raise TopologyError(f"sign-in failed: GET /api/me with a minted token answered {me.status_code}")
    passed.append("sign-in: GET /api/me with a token from `relay token` -> 200")
    passed.append(asyncio.run(_message_across_replicas(topology, alice, bob)))
    return passed
