"""The smoke verification `make up` ends with: health through haproxy, sign-in with a minted token,
a message between two users connected to different replicas, a file upload read back through its
signed URL, and a search. Raises TopologyError on the first failure.
"""

import asyncio
import uuid

import httpx

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


def _upload(client: httpx.Client) -> str:
    """Presign, POST the file to the S3-compatible server as a browser would, complete, read back."""
    content = f"smoke upload {uuid.uuid4()}".encode()
    declared = {"filename": "smoke.txt", "content_type": "text/plain", "size": len(content)}
    presigned = client.post("/api/uploads", json=declared)
    if presigned.status_code != 201:
        raise TopologyError(f"POST /api/uploads answered {presigned.status_code}: {presigned.text[:300]}")
    post = presigned.json()
    stored = httpx.post(post["url"], data=post["fields"], files={"file": ("smoke.txt", content)}, timeout=10)
    if stored.status_code not in (200, 204):
        raise TopologyError(
            f"the S3-compatible server refused the upload ({stored.status_code}): {stored.text[:300]}"
        )
    upload = client.post(f"/api/uploads/{post['id']}/complete").json()
    if upload.get("status") != "ready":
        raise TopologyError(f"the upload was not accepted at complete: {upload}")
    fetched = httpx.get(upload["url"], timeout=10)
    if fetched.content != content:
        raise TopologyError(
            f"the signed URL returned {fetched.status_code} and other bytes than were uploaded"
        )
    return f"upload: presigned POST -> complete (ready) -> signed URL returned the same {len(content)} bytes"


def _search(client: httpx.Client) -> str:
    word = f"smoke{uuid.uuid4().hex[:12]}"
    channel = client.post("/api/channels", json={"name": f"smoke-search-{word[-6:]}"}).json()["id"]
    posted = client.post(
        f"/api/channels/{channel}/messages", json={"body": f"{word} search check", "client_msg_id": word}
    )
    if posted.status_code != 201:
        raise TopologyError(f"posting the search probe answered {posted.status_code}: {posted.text[:300]}")
    results = client.get("/api/search", params={"q": word}).json().get("results", [])
    if [result["message"]["id"] for result in results] != [posted.json()["id"]]:
        raise TopologyError(f"GET /api/search?q={word} did not find exactly the probe message: {results}")
    return f"search: GET /api/search?q={word} found the message just posted"


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
        passed.append(_upload(client))
        passed.append(_search(client))
    passed.append(asyncio.run(_message_across_replicas(topology, alice, bob)))
    return passed
