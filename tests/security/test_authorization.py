"""Authorization on every route and socket event (issue 7): an outsider, who belongs to neither a
private channel nor a DM, gets the answer of an unknown id (404, the same error body) wherever the
API takes the id of a channel, message, upload or notification, changes nothing, and the
outsider's socket receives nothing of either channel.

The cases are not a hand list of what exists today: the routes come from the served OpenAPI
document and the socket events from the app's own registration (register_events, which both
socket servers run), and `test_every_id_the_api_takes_has_an_outsider_case` and
`test_every_socket_event_has_an_outsider_case` fail, naming it, for a route parameter, an id field
or an event that has no case here and no reason why its ids are no secret.
"""

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from relay.realtime.events import register_events
from tests.security.conftest import client_through_haproxy
from tests.utils.sockets import SocketUser
from tests.utils.tokens import new_user_id
from topology import Topology

UPLOAD = "someone's upload"
CHANNELS = ("private channel", "dm")
# Query parameters and body fields that carry ids; path parameters always count.
ID_NAME = re.compile(r"(^|_)ids?$|^from$")


@dataclass
class Scene:
    """Owner and peer share a private channel and a DM, each with a message; the outsider has a
    public channel of their own. `hidden[target]` holds the ids the outsider must not reach."""

    owner: httpx.Client
    peer: httpx.Client
    outsider: httpx.Client
    tokens: dict[str, str]
    user_ids: dict[str, str]
    hidden: dict[str, dict[str, str]]
    outsider_channel_id: str
    peer_notification_ids: list[str]
    marker: str

    def send(self, route: str, ids: dict[str, str], **request: Any) -> httpx.Response:
        """`route` ("METHOD /api/path/{param}") as the outsider, its parameters filled from `ids`."""
        method, path = route.split(" ", 1)
        return self.outsider.request(method, path.removeprefix("/api").format(**ids), **request)


def unknown_ids() -> dict[str, str]:
    return {name: uuid.uuid4().hex for name in ("channel_id", "message_id", "upload_id")}


def new_message(_scene: Scene) -> dict[str, str]:
    return {"body": "let me in", "client_msg_id": uuid.uuid4().hex}


# What the outsider sends to each route with an id in its path (None: no body).
ROUTE_BODIES: dict[str, Callable[[Scene], dict[str, Any]] | None] = {
    "POST /api/channels/{channel_id}/join": None,
    "POST /api/channels/{channel_id}/leave": None,
    "POST /api/channels/{channel_id}/members": lambda scene: {"user_id": scene.user_ids["outsider"]},
    "GET /api/channels/{channel_id}/messages": None,
    "POST /api/channels/{channel_id}/messages": new_message,
    "PATCH /api/channels/{channel_id}/messages/{message_id}": lambda _scene: {"body": "hijacked"},
    "DELETE /api/channels/{channel_id}/messages/{message_id}": None,
    "GET /api/uploads/{upload_id}": None,
    "POST /api/uploads/{upload_id}/complete": None,
    "DELETE /api/uploads/{upload_id}": None,
}
# Ids in a query or body, each with a case below.
FIELD_CASES = {
    "POST /api/channels/{channel_id}/messages parent_id",
    "POST /api/channels/{channel_id}/messages attachment_ids",
    "GET /api/search channel_id",
    "POST /api/notifications/read ids",
    "PUT /api/notification-preferences channels[].channel_id",
}
# Ids that are no secret, and why.
NOT_SECRET = {
    "user_id": "users are listed to every signed-in user (GET /api/users)",
    "user_ids": "users are listed to every signed-in user (GET /api/users)",
    "from": "an author's user id; search still returns only the caller's channels (test_search.py)",
    "client_msg_id": "the sender's own key, looked up only after membership (test_csrf_and_redirects.py)",
}
SOCKET_EVENTS = {"message:send", "typing", "auth:refresh"}
LIFECYCLE_EVENTS = {
    "connect": "the handshake joins only the user's own rooms: the silence test watches them",
    "disconnect": "carries no payload",
}


def route_cases() -> list[tuple[str, str]]:
    return [
        (route, target)
        for route in ROUTE_BODIES
        for target in ((UPLOAD,) if "{upload_id}" in route else CHANNELS)
    ]


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201, 204), (response.status_code, response.text)
    return response.json() if response.content else {}


def post_message(client: httpx.Client, channel_id: str, body: str) -> dict[str, Any]:
    return created(
        client.post(
            f"/channels/{channel_id}/messages", json={"body": body, "client_msg_id": uuid.uuid4().hex}
        )
    )


def wait_for_notifications(client: httpx.Client) -> list[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = client.get("/notifications", params={"unread": True}).json()["notifications"]
        if found:
            return [notification["id"] for notification in found]
        time.sleep(0.2)
    raise AssertionError("the peer got no notification of the DM within 5 s")


@pytest.fixture(scope="module")
def scene(topology: Topology, mint: Callable[..., str]) -> Iterator[Scene]:
    user_ids = {role: new_user_id(role) for role in ("owner", "peer", "outsider")}
    tokens = {role: mint(user_id) for role, user_id in user_ids.items()}
    clients = {role: client_through_haproxy(topology, token) for role, token in tokens.items()}
    try:
        owner, peer, outsider = clients["owner"], clients["peer"], clients["outsider"]
        for client in clients.values():
            created(client.get("/me"))  # a user exists once signed in
        marker = "zq" + uuid.uuid4().hex[:12]
        private = created(owner.post("/channels", json={"name": f"secret {marker}", "private": True}))
        created(owner.post(f"/channels/{private['id']}/members", json={"user_id": user_ids["peer"]}))
        dm = created(owner.post("/dms", json={"user_ids": [user_ids["peer"]]}))
        hidden = {
            target: {
                "channel_id": channel["id"],
                "message_id": post_message(owner, channel["id"], marker)["id"],
            }
            for target, channel in zip(CHANNELS, (private, dm), strict=True)
        }
        upload = created(
            owner.post(
                "/uploads", json={"filename": f"{marker}.txt", "content_type": "text/plain", "size": 5}
            )
        )
        hidden[UPLOAD] = {"upload_id": upload["id"]}
        yield Scene(
            owner=owner,
            peer=peer,
            outsider=outsider,
            tokens=tokens,
            user_ids=user_ids,
            hidden=hidden,
            outsider_channel_id=created(outsider.post("/channels", json={"name": "own"}))["id"],
            peer_notification_ids=wait_for_notifications(peer),
            marker=marker,
        )
    finally:
        for client in clients.values():
            client.close()


@pytest.fixture(scope="module", autouse=True)
async def sockets(scene: Scene, lb_socket) -> Iterator[dict[str, SocketUser]]:
    """Everyone's socket, connected before the first attack (REST ones too): everything the
    outsider's socket receives in this module is kept for the last test."""
    users = {role: await lb_socket(token).connect() for role, token in scene.tokens.items()}
    yield users
    for user in users.values():
        await user.close()


def assert_answered_like_an_unknown_id(
    hidden: httpx.Response, unknown: httpx.Response, ids: list[str]
) -> None:
    """Same status and the same error body, but for the id it names."""
    assert (hidden.status_code, unknown.status_code) == (404, 404), (hidden.text, unknown.text)
    assert_same_error(hidden.json()["error"], unknown.json()["error"], ids)
    assert hidden.json()["error"]["code"] == "not_found"


def assert_same_error(hidden: dict[str, str], unknown: dict[str, str], ids: list[str]) -> None:
    def without_ids(error: dict[str, str]) -> dict[str, str]:
        message = error["message"]
        for value in ids:
            message = message.replace(value, "{id}")
        return {**error, "message": message}

    assert without_ids(hidden) == without_ids(unknown), (hidden, unknown)


# -- the enumeration ---------------------------------------------------------------------------


def resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def body_fields(document: dict, schema: dict, prefix: str = "") -> Iterator[str]:
    """Every field of a JSON body as a path ("channels[].channel_id"), nested ones included."""
    schema = resolve(document, schema)
    for variant in schema.get("anyOf", []):
        yield from body_fields(document, variant, prefix)
    if "items" in schema:
        yield from body_fields(document, schema["items"], f"{prefix}[]")
    for name, field in schema.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        yield path
        yield from body_fields(document, field, path)


@dataclass(frozen=True)
class IdReference:
    route: str  # "METHOD /path"
    location: str  # path, query or body
    field: str  # its name, or its path in the body

    @property
    def name(self) -> str:
        return self.field.rsplit(".", 1)[-1]

    def __str__(self) -> str:
        return f"{self.route} {self.field}"


def id_references(document: dict) -> list[IdReference]:
    """Every path parameter, and every query parameter or body field whose name says it is an id."""
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            route = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" or ID_NAME.search(parameter["name"]):
                    found.append(IdReference(route, parameter["in"], parameter["name"]))
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            for field in body_fields(document, content["schema"]) if content else ():
                if ID_NAME.search(field.rsplit(".", 1)[-1]):
                    found.append(IdReference(route, "body", field))
    return found


class EventRegistrations:
    """Stands in for the socket server while register_events runs: records what it handles."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def event(self, handler: Callable) -> Callable:
        self.names.add(handler.__name__)
        return handler

    def on(self, name: str) -> Callable[[Callable], Callable]:
        def register(handler: Callable) -> Callable:
            self.names.add(name)
            return handler

        return register


def test_every_id_the_api_takes_has_an_outsider_case(lb: httpx.Client) -> None:
    references = id_references(lb.get("/api/openapi.json").json())
    missing = [
        str(reference)
        for reference in references
        if not (reference.location == "path" and reference.route in ROUTE_BODIES)
        and str(reference) not in FIELD_CASES
        and reference.name not in NOT_SECRET
    ]
    assert not missing, f"ids the API takes with no outsider case in {__file__}: {missing}"
    served = {reference.route for reference in references} | {str(reference) for reference in references}
    stale = sorted({*ROUTE_BODIES, *FIELD_CASES} - served)
    assert not stale, f"cases for routes or fields the API no longer has: {stale}"


def test_every_socket_event_has_an_outsider_case() -> None:
    registrations = EventRegistrations()
    register_events(registrations, runtime=None, hub=None)
    uncovered = registrations.names - SOCKET_EVENTS - set(LIFECYCLE_EVENTS)
    assert not uncovered, f"socket events with no outsider case in {__file__}: {sorted(uncovered)}"
    assert registrations.names >= SOCKET_EVENTS, (
        f"cases for events no longer handled: {SOCKET_EVENTS - registrations.names}"
    )


# -- REST ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("route", "target"), route_cases(), ids=[f"{r} on {t}" for r, t in route_cases()])
def test_an_outsider_gets_the_unknown_id_answer_from_every_route_with_an_id(scene, route, target) -> None:
    make_body = ROUTE_BODIES[route]
    body = {} if make_body is None else {"json": make_body(scene)}
    unknown = unknown_ids()
    assert_answered_like_an_unknown_id(
        scene.send(route, scene.hidden[target], **body),
        scene.send(route, unknown, **body),
        [*scene.hidden[target].values(), *unknown.values()],
    )


@pytest.mark.parametrize("target", CHANNELS)
def test_a_reply_to_a_message_the_outsider_cannot_read_is_refused_like_an_unknown_parent(
    scene, target
) -> None:
    route = "POST /api/channels/{channel_id}/messages"
    own = {"channel_id": scene.outsider_channel_id}
    hidden_parent, unknown_parent = scene.hidden[target]["message_id"], uuid.uuid4().hex
    assert_answered_like_an_unknown_id(
        scene.send(route, own, json={**new_message(scene), "parent_id": hidden_parent}),
        scene.send(route, own, json={**new_message(scene), "parent_id": unknown_parent}),
        [hidden_parent, unknown_parent],
    )


def test_attaching_someone_elses_upload_is_refused_like_an_unknown_upload(scene) -> None:
    route = "POST /api/channels/{channel_id}/messages"
    own = {"channel_id": scene.outsider_channel_id}
    theirs, unknown = scene.hidden[UPLOAD]["upload_id"], uuid.uuid4().hex
    assert_answered_like_an_unknown_id(
        scene.send(route, own, json={**new_message(scene), "attachment_ids": [theirs]}),
        scene.send(route, own, json={**new_message(scene), "attachment_ids": [unknown]}),
        [theirs, unknown],
    )


@pytest.mark.parametrize("target", CHANNELS)
def test_searching_in_a_channel_the_outsider_cannot_read_finds_what_an_unknown_one_does(
    scene, target
) -> None:
    hidden_id = scene.hidden[target]["channel_id"]
    hidden = scene.outsider.get("/search", params={"q": scene.marker, "channel_id": hidden_id})
    unknown = scene.outsider.get("/search", params={"q": scene.marker, "channel_id": uuid.uuid4().hex})
    assert (
        (hidden.status_code, hidden.json())
        == (unknown.status_code, unknown.json())
        == (
            200,
            {"results": [], "next_cursor": None},
        )
    )
    member = scene.owner.get("/search", params={"q": scene.marker, "channel_id": hidden_id})
    assert [result["message"]["channel_id"] for result in member.json()["results"]] == [hidden_id]


def test_marking_someone_elses_notifications_read_is_like_unknown_ids_and_changes_nothing(scene) -> None:
    theirs = scene.outsider.post("/notifications/read", json={"ids": scene.peer_notification_ids})
    unknown = scene.outsider.post("/notifications/read", json={"ids": [uuid.uuid4().hex]})
    assert (
        (theirs.status_code, theirs.json()) == (unknown.status_code, unknown.json()) == (200, {"unread": 0})
    )
    still_unread = scene.peer.get("/notifications", params={"unread": True}).json()["notifications"]
    assert set(scene.peer_notification_ids) <= {notification["id"] for notification in still_unread}


@pytest.mark.parametrize("target", CHANNELS)
def test_notification_preferences_for_a_channel_the_outsider_cannot_read_are_like_an_unknown_one(
    scene, target
) -> None:
    def put(channel_id: str) -> httpx.Response:
        preference = {"channel_id": channel_id, "level": "all"}
        return scene.outsider.put("/notification-preferences", json={"channels": [preference]})

    hidden_id, unknown_id = scene.hidden[target]["channel_id"], uuid.uuid4().hex
    assert_answered_like_an_unknown_id(put(hidden_id), put(unknown_id), [hidden_id, unknown_id])


def test_the_outsiders_attempts_changed_nothing(scene) -> None:
    for target in CHANNELS:
        ids = scene.hidden[target]
        history = scene.owner.get(f"/channels/{ids['channel_id']}/messages").json()["messages"]
        assert [(m["id"], m["body"], m["deleted_at"]) for m in history] == [
            (ids["message_id"], scene.marker, None)
        ]
    mine = {channel["id"] for channel in scene.outsider.get("/channels").json()["channels"]}
    assert mine == {scene.outsider_channel_id}
    assert scene.owner.get(f"/uploads/{scene.hidden[UPLOAD]['upload_id']}").json()["status"] == "pending"


# -- Socket.IO -------------------------------------------------------------------------------


@pytest.mark.parametrize("target", CHANNELS)
async def test_message_send_into_a_channel_the_outsider_cannot_read_is_acked_like_an_unknown_one(
    scene, sockets, target
) -> None:
    hidden_id, unknown_id = scene.hidden[target]["channel_id"], uuid.uuid4().hex
    hidden = await sockets["outsider"].call("message:send", {"channel_id": hidden_id, **new_message(scene)})
    unknown = await sockets["outsider"].call("message:send", {"channel_id": unknown_id, **new_message(scene)})
    assert (hidden["ok"], unknown["ok"], hidden["error"]["code"]) == (False, False, "not_found")
    assert_same_error(hidden["error"], unknown["error"], [hidden_id, unknown_id])


@pytest.mark.parametrize("target", CHANNELS)
async def test_typing_into_a_channel_the_outsider_cannot_read_reaches_no_member(
    scene, sockets, target
) -> None:
    channel_id, outsider_id = scene.hidden[target]["channel_id"], scene.user_ids["outsider"]
    await sockets["outsider"].client.emit("typing", {"channel_id": channel_id})
    await sockets["owner"].client.emit("typing", {"channel_id": channel_id})  # the member's, as a marker
    await sockets["peer"].wait_for("typing", lambda typing: typing["channel_id"] == channel_id)
    await asyncio.sleep(0.3)  # the two come through different replicas: let a straggler land
    assert [typing for typing in sockets["peer"].events["typing"] if typing["user_id"] == outsider_id] == []


async def test_refreshing_the_socket_with_a_members_token_is_refused_and_grants_nothing(
    scene, sockets
) -> None:
    outsider = sockets["outsider"]
    refused = await outsider.call("auth:refresh", {"token": scene.tokens["peer"]})
    assert (refused["ok"], refused["error"]["code"]) == (False, "forbidden"), refused
    hidden_id = scene.hidden["private channel"]["channel_id"]
    still = await outsider.call("message:send", {"channel_id": hidden_id, **new_message(scene)})
    assert still["error"]["code"] == "not_found", still


async def test_the_outsiders_socket_received_nothing_of_either_channel(scene, sockets) -> None:
    """Last: the members post, edit, delete and type in both channels after every attack above; the
    peer's socket gets each of those, the outsider's (connected all along) nothing of them."""
    owner, peer = sockets["owner"], sockets["peer"]
    live = []
    for target in CHANNELS:
        channel_id = scene.hidden[target]["channel_id"]
        sent = await owner.call(
            "message:send",
            {"channel_id": channel_id, "body": f"{scene.marker} live", "client_msg_id": uuid.uuid4().hex},
        )
        live.append(sent["message"]["id"])
        path = f"/channels/{channel_id}/messages/{sent['message']['id']}"
        created(scene.owner.patch(path, json={"body": f"{scene.marker} edited"}))
        created(scene.owner.delete(path))
        await owner.client.emit("typing", {"channel_id": channel_id})
        for event in ("message:new", "message:updated", "message:deleted", "typing"):
            await peer.wait_for(event, lambda data, channel_id=channel_id: data["channel_id"] == channel_id)
    await asyncio.sleep(0.3)  # what reaches the peer reaches the outsider by then, if anything would
    received = json.dumps(sockets["outsider"].events)
    secrets = [scene.marker, *live, *(value for ids in scene.hidden.values() for value in ids.values())]
    assert not [secret for secret in secrets if secret in received], dict(sockets["outsider"].events)
