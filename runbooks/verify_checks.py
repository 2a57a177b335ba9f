"""The immediate post-deployment checks `verify` runs, each against the public URL as a user would.

Two test users (A and B) share one reused channel, `relay-verify`. Everything a run creates is
recorded on the `Probe` so `clean_up` can tombstone the messages and delete the uploads, whichever
check failed: repeated runs leave nothing behind that grows.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import socketio

from topology.layout import STICKY_COOKIE

CHANNEL_NAME = "relay-verify"
SOCKETIO_PATH = "api/socketio"
WAIT_SECONDS = 10  # per step; the whole run stays well under 30 s on a healthy deployment
RECEIVERS = 2  # B's sockets: with round robin, one of A and B's three lands on another replica
SECURITY_HEADERS = {
    "strict-transport-security": "max-age=",
    "content-security-policy": "default-src",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "",
    "permissions-policy": "",
}


class CheckFailed(Exception):
    """A check's failure: the message says what was seen and where to look next."""


@dataclass
class Socket:
    """One Socket.IO connection through the load balancer, queueing what it hears."""

    sio: socketio.AsyncClient
    messages: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    presence: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    replica: str = "?"  # from the local topology's sticky cookie; "?" behind an opaque one (ALB)

    async def heard_presence(self, *changes: dict[str, Any]) -> None:
        """A replica announces its presence changes in batches, one argument each (DESIGN §4a)."""
        for change in changes:
            self.presence.put_nowait(change)

    @classmethod
    async def open(cls, base_url: str, token: str, ssl_context: ssl.SSLContext | bool) -> Socket:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_context))
        socket = cls(socketio.AsyncClient(reconnection=False, http_session=session))
        socket.sio.on("message:new", socket.messages.put)
        socket.sio.on("presence", socket.heard_presence)
        try:
            await socket.sio.connect(
                base_url,
                auth={"token": token},
                transports=["websocket"],
                socketio_path=SOCKETIO_PATH,
                wait_timeout=WAIT_SECONDS,
            )
        except socketio.exceptions.ConnectionError:
            await session.close()
            raise
        socket.replica = next((c.value for c in session.cookie_jar if c.key == STICKY_COOKIE), "?")
        return socket

    async def close(self) -> None:
        # A websocket disconnect is immediate; the bound only guards against a stuck peer.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.sio.disconnect(), 5)
        if self.sio.eio.http is not None:
            await self.sio.eio.http.close()


@dataclass
class VerifyUser:
    """One test user: REST with the bearer token, and the sockets it listens on."""

    name: str
    token: str
    http: httpx.AsyncClient
    user_id: str = ""
    sockets: list[Socket] = field(default_factory=list)

    async def call(self, method: str, path: str, expect: int, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(
            method, path, headers={"Authorization": f"Bearer {self.token}"}, **kwargs
        )
        if response.status_code != expect:
            raise CheckFailed(
                f"{method} {path} as {self.name} answered {response.status_code}, expected {expect}: "
                f"{response.text[:300]}"
            )
        return response

    async def connect(self, base_url: str, ssl_context: ssl.SSLContext | bool) -> Socket:
        try:
            socket = await Socket.open(base_url, self.token, ssl_context)
        except socketio.exceptions.ConnectionError as error:
            raise CheckFailed(f"{self.name}'s Socket.IO connection was refused: {error}") from error
        self.sockets.append(socket)
        return socket

    async def close(self) -> None:
        for socket in self.sockets:
            await socket.close()


@dataclass
class Probe:
    """What the checks share: the deployment, the two users, and what this run created."""

    base_url: str
    ssl_context: ssl.SSLContext | bool
    a: VerifyUser
    b: VerifyUser
    channel_id: str = ""
    message_ids: list[str] = field(default_factory=list)
    upload_ids: list[str] = field(default_factory=list)
    word: str = field(default_factory=lambda: f"verify{uuid.uuid4().hex[:12]}")
    status_changed: bool = False


async def health_and_tls(probe: Probe) -> str:
    response = await probe.a.http.get("/healthz")
    if response.status_code != 200:
        raise CheckFailed(f"GET /healthz answered {response.status_code}: {response.text[:200]}")
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        raise CheckFailed(f"{probe.base_url} is not served over TLS: verify needs an https:// URL")
    if ssl_object.version() not in ("TLSv1.2", "TLSv1.3"):
        raise CheckFailed(
            f"the load balancer negotiated {ssl_object.version()}; TLS 1.2 or later is required"
        )
    return f"GET /healthz 200 over {ssl_object.version()}, certificate verified"


async def security_headers(probe: Probe) -> str:
    response = await probe.a.http.get("/")
    missing = [
        f"{name} (expected {expected!r})" if expected else name
        for name, expected in SECURITY_HEADERS.items()
        if expected not in response.headers.get(name, "") or name not in response.headers
    ]
    if missing:
        raise CheckFailed(f"GET / lacks or mangles: {', '.join(missing)}")
    return f"{len(SECURITY_HEADERS)} headers present on GET / ({response.status_code})"


async def sign_in(probe: Probe) -> str:
    for user in (probe.a, probe.b):
        user.user_id = (await user.call("GET", "/api/me", 200)).json()["id"]
    return f"GET /api/me 200 for {probe.a.user_id} and {probe.b.user_id}"


async def shared_channel(probe: Probe) -> str:
    """The one reused `relay-verify` channel (the oldest if a race made two), joined by both users."""
    listed = (await probe.a.call("GET", "/api/channels", 200, params={"scope": "public"})).json()
    found = sorted(c["id"] for c in listed["channels"] if c["name"] == CHANNEL_NAME)
    if found:
        probe.channel_id = found[0]
        outcome = "reused"
    else:
        created = await probe.a.call("POST", "/api/channels", 201, json={"name": CHANNEL_NAME})
        probe.channel_id = created.json()["id"]
        outcome = "created"
    for user in (probe.a, probe.b):
        await user.call("POST", f"/api/channels/{probe.channel_id}/join", 200)
    return f"{outcome} #{CHANNEL_NAME} ({probe.channel_id}); both users are members"


async def _readiness(probe: Probe) -> str:
    """What /readyz says, to name the failing dependency in a real-time failure."""
    try:
        response = await probe.a.http.get("/readyz")
    except httpx.HTTPError as error:
        return f"GET /readyz failed too: {error}"
    return f"GET /readyz answered {response.status_code}: {response.text[:200]}"


async def realtime_message(probe: Probe) -> str:
    """A sends over its socket with an ack; B receives it on each of its sockets. B opens
    RECEIVERS sockets one after the other, so the balancer's round robin puts at least one of them
    on a replica other than A's: delivery across replicas (Redis pub/sub) is what is checked."""
    sender = await probe.a.connect(probe.base_url, probe.ssl_context)
    receivers = [await probe.b.connect(probe.base_url, probe.ssl_context) for _ in range(RECEIVERS)]
    body = f"{probe.word} relay-verify real-time check"
    try:
        ack = await sender.sio.call(
            "message:send",
            {"channel_id": probe.channel_id, "body": body, "client_msg_id": str(uuid.uuid4())},
            timeout=WAIT_SECONDS,
        )
    except socketio.exceptions.TimeoutError:
        raise CheckFailed(
            f"message:send got no ack within {WAIT_SECONDS} s; {await _readiness(probe)}"
        ) from None
    if not ack.get("ok"):
        raise CheckFailed(f"message:send was refused: {ack.get('error')}")
    sent = ack["message"]
    probe.message_ids.append(sent["id"])
    for receiver in receivers:
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                while (received := await receiver.messages.get())["id"] != sent["id"]:
                    pass
        except TimeoutError:
            raise CheckFailed(
                f"{probe.b.name}'s socket on replica {receiver.replica} did not receive message {sent['id']} "
                f"(sent by {probe.a.name} on replica {sender.replica}) within {WAIT_SECONDS} s although it "
                f"was stored: the real-time fan-out between replicas (Redis pub/sub) is not delivering; "
                f"{await _readiness(probe)}"
            ) from None
        if received["body"] != body:
            raise CheckFailed(f"{probe.b.name} received {received['body']!r}, {probe.a.name} sent {body!r}")
    where = ", ".join(r.replica for r in receivers)
    return (
        f"message {sent['id']} from {probe.a.name} (replica {sender.replica}) reached "
        f"{probe.b.name}'s {RECEIVERS} sockets (replicas {where}) over websocket"
    )


async def upload_and_download(probe: Probe) -> str:
    """Presign, POST the file to storage as a browser would, complete, read back via its URL."""
    content = f"relay-verify upload {probe.word}".encode()
    declared = {"filename": "relay-verify.txt", "content_type": "text/plain", "size": len(content)}
    post = (await probe.a.call("POST", "/api/uploads", 201, json=declared)).json()
    probe.upload_ids.append(post["id"])
    async with httpx.AsyncClient(verify=probe.ssl_context, timeout=WAIT_SECONDS) as storage:
        stored = await storage.post(
            post["url"], data=post["fields"], files={"file": ("relay-verify.txt", content, "text/plain")}
        )
        if stored.status_code not in (200, 201, 204):
            raise CheckFailed(
                f"storage refused the presigned POST ({stored.status_code}): {stored.text[:300]}"
            )
        upload = (await probe.a.call("POST", f"/api/uploads/{post['id']}/complete", 200)).json()
        if upload.get("status") != "ready":
            raise CheckFailed(f"the upload was not accepted at complete: {upload}")
        fetched = await storage.get(upload["url"])
    if fetched.content != content:
        raise CheckFailed(f"the read URL answered {fetched.status_code} with other bytes than were uploaded")
    return (
        f"upload {post['id']}: presigned POST, complete (ready), read URL returned the {len(content)} bytes"
    )


async def search_finds_message(probe: Probe) -> str:
    if not probe.message_ids:
        raise CheckFailed("no message was sent in this run to search for")
    params = {"q": probe.word, "channel_id": probe.channel_id}
    found: list[str] = []
    async with asyncio.timeout(WAIT_SECONDS):
        while probe.message_ids[0] not in found:
            results = (await probe.b.call("GET", "/api/search", 200, params=params)).json()["results"]
            found = [result["message"]["id"] for result in results]
            if probe.message_ids[0] not in found:
                await asyncio.sleep(0.5)
    return f"GET /api/search?q={probe.word} as {probe.b.name} found message {probe.message_ids[0]}"


async def status_change_seen(probe: Probe) -> str:
    """A goes away; B hears A's `presence` with the new status on its socket."""
    await probe.a.call("PUT", "/api/me/status", 200, json={"status": "away", "text": CHANNEL_NAME})
    probe.status_changed = True
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                event = await probe.b.sockets[0].presence.get()
                if event.get("user_id") == probe.a.user_id and event.get("status") == "away":
                    break
    except TimeoutError:
        raise CheckFailed(
            f"{probe.b.name} saw no presence 'away' for {probe.a.user_id} within {WAIT_SECONDS} s"
        ) from None
    return f"{probe.b.name} saw {probe.a.name} go 'away' over its socket"


CHECKS = (
    ("health and TLS", health_and_tls),
    ("security headers", security_headers),
    ("sign-in", sign_in),
    ("shared channel", shared_channel),
    ("real-time message", realtime_message),
    ("file upload", upload_and_download),
    ("search", search_finds_message),
    ("status change", status_change_seen),
)


async def clean_up(probe: Probe) -> str:
    """Tombstone A's live messages in the channel (this run's and any a failed run left), delete
    this run's uploads, set A back online, close the sockets. Best effort: reports what failed."""
    problems, removed = [], 0
    for user in (probe.a, probe.b):
        await user.close()
    try:
        if probe.channel_id and probe.a.user_id:
            path = f"/api/channels/{probe.channel_id}/messages"
            listed = (await probe.a.call("GET", path, 200, params={"limit": 200})).json()["messages"]
            live = {m["id"] for m in listed if m["author_id"] == probe.a.user_id and not m["deleted_at"]}
            for message_id in sorted(live | set(probe.message_ids)):
                await probe.a.call("DELETE", f"{path}/{message_id}", 200)
                removed += 1
        for upload_id in probe.upload_ids:
            await probe.a.call("DELETE", f"/api/uploads/{upload_id}", 204)
        if probe.status_changed:
            await probe.a.call("PUT", "/api/me/status", 200, json={"status": "online"})
    except (CheckFailed, httpx.HTTPError) as error:
        problems.append(str(error))
    if problems:
        raise CheckFailed("; ".join(problems))
    return f"{removed} message(s) tombstoned, {len(probe.upload_ids)} upload(s) deleted"
