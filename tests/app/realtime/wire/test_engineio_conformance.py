"""One test per case of socketio/engine.io-protocol `test-suite/` (Engine.IO v4), in its order.

Cases shared with socketio/socket.io-protocol's suite (its "Engine.IO protocol" part) run against
both conformance servers through the `either` fixture.
"""

import asyncio
import json

import pytest
import websockets

from tests.app.realtime.wire.conftest import (
    PING_INTERVAL_MS,
    PING_TIMEOUT_MS,
    Endpoint,
    closed,
    receive,
    receive_skipping_pings,
)

HANDSHAKE_KEYS = {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}


def _handshake(text: str, upgrades: list[str]) -> dict:
    assert text.startswith("0"), text
    value = json.loads(text[1:])
    assert set(value) == HANDSHAKE_KEYS
    assert isinstance(value["sid"], str)
    assert value["upgrades"] == upgrades
    assert (value["pingInterval"], value["pingTimeout"]) == (PING_INTERVAL_MS, PING_TIMEOUT_MS)
    assert value["maxPayload"] == 1_000_000
    return value


async def _refused(either: Endpoint, query: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refusal:
        await either.websocket(query)
    assert refusal.value.response.status_code == 400


# -- handshake ------------------------------------------------------------------------------


async def test_polling_handshake_opens_a_session(either: Endpoint) -> None:
    response = await either.http.get(either.url("EIO=4&transport=polling"))
    assert response.status_code == 200
    _handshake(response.text, ["websocket"])


async def test_polling_handshake_fails_with_an_invalid_eio(either: Endpoint) -> None:
    for query in ("transport=polling", "EIO=abc&transport=polling"):
        response = await either.http.get(either.url(query))
        assert response.status_code == 400
        assert response.json()["error"]["message"]


async def test_polling_handshake_fails_with_an_invalid_transport(either: Endpoint) -> None:
    for query in ("EIO=4", "EIO=4&transport=abc"):
        assert (await either.http.get(either.url(query))).status_code == 400


async def test_polling_handshake_fails_with_an_invalid_method(either: Endpoint) -> None:
    for method in ("POST", "PUT"):
        response = await either.http.request(method, either.url("EIO=4&transport=polling"))
        assert response.status_code == 400


async def test_websocket_handshake_opens_a_session(either: Endpoint) -> None:
    async with await either.websocket() as socket:
        _handshake(await receive(socket), [])


async def test_websocket_handshake_fails_with_an_invalid_eio(either: Endpoint) -> None:
    await _refused(either, "transport=websocket")
    await _refused(either, "EIO=abc&transport=websocket")


async def test_websocket_handshake_fails_with_an_invalid_transport(either: Endpoint) -> None:
    await _refused(either, "EIO=4")
    await _refused(either, "EIO=4&transport=abc")


# -- message --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    ["4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA=="],
    ids=["one plain text packet", "several plain text packets", "plain text and binary packets"],
)
async def test_polling_sends_and_receives_a_payload(engine: Endpoint, payload: str) -> None:
    sid = await engine.open_polling()
    pushed = await engine.push(sid, payload)
    assert (pushed.status_code, pushed.text) == (200, "ok")
    polled = await engine.poll(sid)
    assert (polled.status_code, polled.text) == (200, payload)


async def test_polling_closes_the_session_upon_invalid_packet_format(engine: Endpoint) -> None:
    sid = await engine.open_polling()
    assert (await engine.push(sid, "abc")).status_code == 400
    assert (await engine.poll(sid)).status_code == 400


async def test_polling_closes_the_session_upon_duplicate_poll_requests(engine: Endpoint) -> None:
    sid = await engine.open_polling()
    first = asyncio.ensure_future(engine.poll(sid))
    await asyncio.sleep(0.05)
    second = await engine.poll(sid)
    assert second.status_code == 400
    held = await first
    assert (held.status_code, held.text) == (200, "1")
    assert (await engine.poll(sid)).status_code == 400


async def test_polling_closes_the_session_upon_cancelled_polling_request(engine: Endpoint) -> None:
    sid = await engine.open_polling()
    host, port = engine.base.removeprefix("http://").split("/")[0].split(":")
    _reader, writer = await asyncio.open_connection(host, int(port))
    path = engine.url(f"EIO=4&transport=polling&sid={sid}").split(port, 1)[1]
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())  # held: nothing to send
    await asyncio.sleep(0.05)
    writer.close()  # the client gives up on it
    await asyncio.sleep(0.05)
    assert (await engine.poll(sid)).status_code == 400


async def test_websocket_sends_and_receives_a_plain_text_packet(engine: Endpoint) -> None:
    async with await engine.websocket() as socket:
        await receive(socket)  # handshake
        await socket.send("4hello")
        assert await receive(socket) == "4hello"


async def test_websocket_sends_and_receives_a_binary_packet(engine: Endpoint) -> None:
    async with await engine.websocket() as socket:
        await receive(socket)
        await socket.send(bytes([1, 2, 3, 4]))
        assert await receive(socket) == bytes([1, 2, 3, 4])


async def test_websocket_closes_the_session_upon_invalid_packet_format(engine: Endpoint) -> None:
    async with await engine.websocket() as socket:
        await receive(socket)
        await socket.send("abc")
        assert await closed(socket)


# -- heartbeat ------------------------------------------------------------------------------


async def test_polling_sends_ping_pong_packets(either: Endpoint) -> None:
    sid = await either.open_polling()
    for _ in range(3):
        polled = await either.poll(sid)
        assert (polled.status_code, polled.text) == (200, "2")
        assert (await either.push(sid, "3")).status_code == 200


async def test_polling_closes_the_session_upon_ping_timeout(either: Endpoint) -> None:
    sid = await either.open_polling()
    # The suite waits interval + timeout + 10 ms; 250 ms of slack for timers on a loaded shared machine.
    await asyncio.sleep((PING_INTERVAL_MS + PING_TIMEOUT_MS + 250) / 1000)
    assert (await either.poll(sid)).status_code == 400


async def test_websocket_sends_ping_pong_packets(either: Endpoint) -> None:
    async with await either.websocket() as socket:
        await receive(socket)
        for _ in range(3):
            assert await receive(socket) == "2"
            await socket.send("3")


async def test_websocket_closes_the_session_upon_ping_timeout(either: Endpoint) -> None:
    async with await either.websocket() as socket:
        await receive(socket)
        assert await receive(socket) == "2"  # unanswered
        assert await closed(socket, answer_pings=False)


# -- close ----------------------------------------------------------------------------------


async def test_polling_forcefully_closes_the_session(either: Endpoint) -> None:
    sid = await either.open_polling()
    held = asyncio.ensure_future(either.poll(sid))
    await asyncio.sleep(0.05)
    assert (await either.push(sid, "1")).status_code == 200
    released = await held
    assert (released.status_code, released.text) == (200, "6")
    assert (await either.poll(sid)).status_code == 400


async def test_websocket_forcefully_closes_the_session(either: Endpoint) -> None:
    async with await either.websocket() as socket:
        await receive(socket)
        await socket.send("1")
        assert await closed(socket)


# -- upgrade --------------------------------------------------------------------------------


async def _upgrade(either: Endpoint, sid: str):
    socket = await either.websocket(f"EIO=4&transport=websocket&sid={sid}")
    await socket.send("2probe")
    assert await receive(socket) == "3probe"
    return socket


async def test_upgrades_from_polling_to_websocket(either: Endpoint) -> None:
    sid = await either.open_polling()
    async with await _upgrade(either, sid) as socket:
        polled = await either.poll(sid)
        assert (polled.status_code, polled.text) == (200, "6")  # NOOP ends the poll cleanly
        await socket.send("5")
        await _echo_or_session_alive(either, socket)


async def test_ignores_http_requests_with_the_same_sid_after_upgrade(either: Endpoint) -> None:
    sid = await either.open_polling()
    async with await _upgrade(either, sid) as socket:
        await socket.send("5")
        await asyncio.sleep(0.05)
        assert (await either.poll(sid)).status_code == 400
        await _echo_or_session_alive(either, socket)


async def test_ignores_websocket_connection_with_the_same_sid_after_upgrade(either: Endpoint) -> None:
    sid = await either.open_polling()
    async with await _upgrade(either, sid) as socket:
        await socket.send("5")
        await asyncio.sleep(0.05)
        with pytest.raises(websockets.InvalidStatus):
            await either.websocket(f"EIO=4&transport=websocket&sid={sid}")
        await _echo_or_session_alive(either, socket)


async def _echo_or_session_alive(either: Endpoint, socket) -> None:
    """The session lives on the websocket: `40` comes back (echoed, or as the CONNECT answer)."""
    await socket.send("40")
    assert (await receive_skipping_pings(socket)).startswith("40")
