"""The OpenAPI document declares links, so a stateful fuzzer can create, post, edit and delete."""

import pytest

from relay.api.links import Link, add_links


def operation(document: dict, route: str) -> dict:
    method, path = route.split(" ", 1)
    return document["paths"][path][method.lower()]


def test_the_served_document_links_a_new_channel_to_posting_and_a_new_message_to_edit_and_delete(
    relay_server, api
) -> None:
    document = api("linker").get("/openapi.json").json()
    ids = {route: operation(document, route)["operationId"] for route in document_routes(document)}
    created = operation(document, "POST /api/channels")["responses"]["201"]["links"]
    assert created[ids["POST /api/channels/{channel_id}/messages"]]["parameters"] == {
        "channel_id": "$response.body#/id"
    }
    posted = operation(document, "POST /api/channels/{channel_id}/messages")["responses"]["201"]["links"]
    for target in ("PATCH", "DELETE"):
        link = posted[ids[f"{target} /api/channels/{{channel_id}}/messages/{{message_id}}"]]
        assert link["parameters"] == {
            "channel_id": "$response.body#/channel_id",
            "message_id": "$response.body#/id",
        }


def document_routes(document: dict) -> list[str]:
    return [f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item]


def test_a_link_to_a_route_the_app_does_not_serve_is_refused_by_name() -> None:
    document = {"paths": {"/a": {"post": {"operationId": "a", "responses": {"201": {}}}}}}
    with pytest.raises(LookupError, match="GET /gone"):
        add_links(document, (Link("POST /a", 201, "GET /gone", {}),))


def test_a_link_from_a_status_the_route_does_not_declare_is_refused_by_name() -> None:
    document = {"paths": {"/a": {"post": {"operationId": "a", "responses": {"201": {}}}}}}
    with pytest.raises(LookupError, match="POST /a on 200"):
        add_links(document, (Link("POST /a", 200, "POST /a", {}),))
