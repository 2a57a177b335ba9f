"""Sequences under concurrency: concurrent senders on two replicas get consecutive seqs, no holes or
repeats; concurrent retries of one client_msg_id store it once."""

import asyncio

import httpx

from tests.utils.tokens import new_user_id


async def test_concurrent_posts_on_two_replicas_get_consecutive_sequences(
    relay_server, relay_server_b, signing_keys
) -> None:
    authors = [new_user_id("author") for _ in range(4)]
    clients = [
        httpx.AsyncClient(
            base_url=f"{server.url}/api",
            timeout=20,
            headers={"Authorization": f"Bearer {signing_keys.mint(author)}"},
        )
        for author, server in zip(authors, [relay_server, relay_server_b] * 2, strict=True)
    ]
    try:
        channel = (await clients[0].post("/channels", json={"name": "busy"})).json()
        for client in clients[1:]:
            await client.post(f"/channels/{channel['id']}/join")
        url = f"/channels/{channel['id']}/messages"
        responses = await asyncio.gather(
            *(clients[n % 4].post(url, json={"body": f"m{n}", "client_msg_id": f"c{n}"}) for n in range(40))
        )
        assert {r.status_code for r in responses} == {201}
        assert sorted(r.json()["seq"] for r in responses) == list(range(1, 41))
        history = (await clients[1].get(url, params={"limit": 200})).json()["messages"]
        assert [m["seq"] for m in history] == list(range(1, 41))
    finally:
        for client in clients:
            await client.aclose()


async def test_concurrent_retries_store_one_message(relay_server, relay_server_b, signing_keys) -> None:
    token = signing_keys.mint(new_user_id("retrier"))
    clients = [
        httpx.AsyncClient(
            base_url=f"{server.url}/api", timeout=20, headers={"Authorization": f"Bearer {token}"}
        )
        for server in (relay_server, relay_server_b)
    ]
    try:
        channel = (await clients[0].post("/channels", json={"name": "flaky"})).json()
        url = f"/channels/{channel['id']}/messages"
        responses = await asyncio.gather(
            *(clients[n % 2].post(url, json={"body": "once", "client_msg_id": "same"}) for n in range(10))
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 9 + [201], statuses
        assert len({r.json()["id"] for r in responses}) == 1
        history = (await clients[0].get(url)).json()["messages"]
        assert [m["seq"] for m in history] == [1]
    finally:
        for client in clients:
            await client.aclose()
