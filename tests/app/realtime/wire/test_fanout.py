"""Two native servers on one Redis: a broadcast reaches the room's members on both replicas, once,
and costs exactly one Redis message."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio
from redis.asyncio import Redis

from relay.realtime.wire.fanout import CHANNEL, RedisFanout
from relay.realtime.wire.server import WireConfig, WireServer
from tests.utils.ports import free_port
from tests.utils.redis_server import RedisServer

PATH = "/api/socketio"


async def _replica(redis: Redis) -> tuple[WireServer, RedisFanout, str]:
    server = WireServer(WireConfig(path=PATH))

    async def connect(sid: str, environ: dict, auth: Any = None) -> None:
        if auth.get("room"):
            server.enter_room(sid, auth["room"])

    async def shout(sid: str, data: Any) -> None:
        await server.emit("news", data, to="room", skip_sid=sid)

    server.on("connect", connect)
    server.on("shout", shout)
    fanout = RedisFanout(server, redis)
    fanout.start()
    await asyncio.wait_for(fanout.subscribed.wait(), 5)
    port = free_port()
    await server.listen("127.0.0.1", port)
    return server, fanout, f"http://127.0.0.1:{port}"


@pytest.fixture
async def replicas(redis_server: RedisServer) -> AsyncIterator[list[str]]:
    redis = Redis.from_url(redis_server.url)
    started = [await _replica(redis), await _replica(redis)]
    yield [url for _server, _fanout, url in started]
    for server, fanout, _url in started:
        await fanout.stop()
        await server.close()
    await redis.aclose()


class Member:
    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.news: list[Any] = []
        self.five = asyncio.Event()  # set once five broadcasts have arrived
        self.client.on("news", self._arrived)

    def _arrived(self, data: Any) -> None:
        self.news.append(data)
        if len(self.news) >= 5:
            self.five.set()

    async def join(self, url: str, room: str | None) -> "Member":
        await self.client.connect(url, socketio_path=PATH, auth={"room": room}, transports=["websocket"])
        return self


async def test_one_redis_message_per_broadcast_reaches_both_replicas(
    replicas: list[str], redis_server: RedisServer
) -> None:
    watcher = Redis.from_url(redis_server.url)
    pubsub = watcher.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(CHANNEL)
    members = [await Member().join(url, "room") for url in replicas for _ in range(3)]
    outsider = await Member().join(replicas[1], None)
    sender = members[0]
    try:
        for n in range(5):
            await sender.client.emit("shout", {"n": n, "blob": bytes([n, 255])})
        expected = [{"n": n, "blob": bytes([n, 255])} for n in range(5)]
        await asyncio.wait_for(asyncio.gather(*(member.five.wait() for member in members[1:])), 5)
        await asyncio.sleep(0.2)  # anything extra (a duplicate) would arrive by now
        for member in members[1:]:
            assert member.news == expected  # in order, once each, binary intact
        assert sender.news == []  # skip_sid holds on its own replica
        assert outsider.news == []
        published = []
        for _ in range(30):  # the first reads may return the subscription confirmation as None
            message = await pubsub.get_message(timeout=0.1)
            # Other relay processes of the suite share this Redis and channel (presence, for one).
            if message is not None and '"news"' in json.loads(message["data"])["t"]:
                published.append(message)
        assert len(published) == 5
    finally:
        for member in [*members, outsider]:
            await member.client.disconnect()
        await pubsub.aclose()
        await watcher.aclose()
