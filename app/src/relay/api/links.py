"""OpenAPI links: which response feeds which operation (create a channel -> post to it -> edit it).

FastAPI emits no `links`, and without them a stateful fuzzer (schemathesis) cannot chain calls, so
edits and deletes would only ever see ids that do not exist. A new route adds its links as one
line in LINKS; `install_links` fails start-up if a link names a route or status that is missing.
"""

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI


@dataclass(frozen=True)
class Link:
    source: str  # "METHOD /path" whose response carries the values
    status: int
    target: str  # "METHOD /path" that can be called with them
    parameters: dict[str, str]  # target parameter -> runtime expression, e.g. "$response.body#/id"


CHANNEL_ID = {"channel_id": "$response.body#/id"}
MESSAGE_IDS = {"channel_id": "$response.body#/channel_id", "message_id": "$response.body#/id"}
CHANNEL = "/api/channels/{channel_id}"
MESSAGE = "/api/channels/{channel_id}/messages/{message_id}"

LINKS = (
    *(
        Link(source, status, target, CHANNEL_ID)
        for source, status in (("POST /api/channels", 201), ("POST /api/dms", 200), ("POST /api/dms", 201))
        for target in (
            f"POST {CHANNEL}/messages",
            f"GET {CHANNEL}/messages",
            f"POST {CHANNEL}/join",
            f"POST {CHANNEL}/leave",
            f"POST {CHANNEL}/members",
        )
    ),
    Link(f"POST {CHANNEL}/messages", 201, f"PATCH {MESSAGE}", MESSAGE_IDS),
    Link(f"POST {CHANNEL}/messages", 201, f"DELETE {MESSAGE}", MESSAGE_IDS),
    Link(f"PATCH {MESSAGE}", 200, f"DELETE {MESSAGE}", MESSAGE_IDS),
)


def _operation(schema: dict[str, Any], route: str) -> dict[str, Any]:
    method, path = route.split(" ", 1)
    try:
        return schema["paths"][path][method.lower()]
    except KeyError:
        raise LookupError(
            f"OpenAPI link names {route}, which the app does not serve: fix LINKS in {__name__}"
        ) from None


def add_links(schema: dict[str, Any], links: tuple[Link, ...] = LINKS) -> dict[str, Any]:
    for link in links:
        target_id = _operation(schema, link.target)["operationId"]
        responses = _operation(schema, link.source)["responses"]
        if str(link.status) not in responses:
            raise LookupError(
                f"OpenAPI link from {link.source} on {link.status}: that route declares no {link.status} "
                f"response; fix LINKS in {__name__}"
            )
        declared = responses[str(link.status)].setdefault("links", {})
        declared[target_id] = {"operationId": target_id, "parameters": dict(link.parameters)}
    return schema


def install_links(api: FastAPI) -> None:
    """Call after the last router is included. FastAPI caches the document it builds here, so the
    links are served with it, and a broken link stops start-up instead of a fuzzing run."""
    add_links(api.openapi())
