"""One test per case of the "Socket.IO protocol" part of socketio/socket.io-protocol `test-suite/`.

(Its "Engine.IO protocol" part runs in test_engineio_conformance.py against this server too.)
"""

import json

from websockets.asyncio.client import ClientConnection

from tests.app.realtime.wire.conftest import Endpoint, closed, receive, receive_skipping_pings


async def _handshake(endpoint: Endpoint) -> ClientConnection:
    socket = await endpoint.websocket()
    assert (await receive(socket)).startswith("0")  # Engine.IO handshake
    return socket


async def _connected(endpoint: Endpoint) -> ClientConnection:
    socket = await _handshake(endpoint)
    await socket.send("40")
    assert (await receive_skipping_pings(socket)).startswith("40")
    assert await receive_skipping_pings(socket) == '42["auth",{}]'
    return socket


def _sid_of(answer: str, prefix: str) -> str:
    assert answer.startswith(prefix), answer
    handshake = json.loads(answer[len(prefix) :])
    assert set(handshake) == {"sid"}
    assert isinstance(handshake["sid"], str)
    return handshake["sid"]


# -- connect --------------------------------------------------------------------------------


async def test_allows_connection_to_the_main_namespace(socketio_server: Endpoint) -> None:
    async with await _handshake(socketio_server) as socket:
        await socket.send("40")
        _sid_of(await receive_skipping_pings(socket), "40")
        assert await receive_skipping_pings(socket) == '42["auth",{}]'


async def test_allows_connection_to_the_main_namespace_with_a_payload(socketio_server: Endpoint) -> None:
    async with await _handshake(socketio_server) as socket:
        await socket.send('40{"token":"123"}')
        _sid_of(await receive_skipping_pings(socket), "40")
        assert await receive_skipping_pings(socket) == '42["auth",{"token":"123"}]'


async def test_allows_connection_to_a_custom_namespace(socketio_server: Endpoint) -> None:
    async with await _handshake(socketio_server) as socket:
        await socket.send("40/custom,")
        _sid_of(await receive_skipping_pings(socket), "40/custom,")
        assert await receive_skipping_pings(socket) == '42/custom,["auth",{}]'


async def test_allows_connection_to_a_custom_namespace_with_a_payload(socketio_server: Endpoint) -> None:
    async with await _handshake(socketio_server) as socket:
        await socket.send('40/custom,{"token":"abc"}')
        _sid_of(await receive_skipping_pings(socket), "40/custom,")
        assert await receive_skipping_pings(socket) == '42/custom,["auth",{"token":"abc"}]'


async def test_disallows_connection_to_an_unknown_namespace(socketio_server: Endpoint) -> None:
    async with await _handshake(socketio_server) as socket:
        await socket.send("40/random")
        assert await receive_skipping_pings(socket) == '44/random,{"message":"Invalid namespace"}'


async def test_disallows_connection_with_an_invalid_handshake(socketio_server: Endpoint) -> None:
    async with await _handshake(socketio_server) as socket:
        await socket.send("4abc")
        assert await closed(socket)


# -- disconnect -----------------------------------------------------------------------------


async def test_disconnects_from_the_main_namespace(socketio_server: Endpoint) -> None:
    async with await _connected(socketio_server) as socket:
        await socket.send("41")
        assert await closed(socket)


async def test_connects_then_disconnects_from_a_custom_namespace(socketio_server: Endpoint) -> None:
    async with await _connected(socketio_server) as socket:
        await socket.send("40/custom")
        assert (await receive_skipping_pings(socket)).startswith("40/custom,")
        assert await receive_skipping_pings(socket) == '42/custom,["auth",{}]'
        await socket.send("41/custom")
        await socket.send('42["message","message to main namespace"]')
        assert await receive_skipping_pings(socket) == '42["message-back","message to main namespace"]'


# -- message --------------------------------------------------------------------------------


async def test_sends_a_plain_text_packet(socketio_server: Endpoint) -> None:
    async with await _connected(socketio_server) as socket:
        await socket.send('42["message",1,"2",{"3":[true]}]')
        assert await receive_skipping_pings(socket) == '42["message-back",1,"2",{"3":[true]}]'


async def test_sends_a_packet_with_binary_attachments(socketio_server: Endpoint) -> None:
    async with await _connected(socketio_server) as socket:
        await socket.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        await socket.send(bytes([1, 2, 3]))
        await socket.send(bytes([4, 5, 6]))
        assert await receive_skipping_pings(socket) == (
            '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        )
        assert await receive_skipping_pings(socket) == bytes([1, 2, 3])
        assert await receive_skipping_pings(socket) == bytes([4, 5, 6])


async def test_sends_a_plain_text_packet_with_an_ack(socketio_server: Endpoint) -> None:
    async with await _connected(socketio_server) as socket:
        await socket.send('42456["message-with-ack",1,"2",{"3":[false]}]')
        assert await receive_skipping_pings(socket) == '43456[1,"2",{"3":[false]}]'


async def test_sends_a_packet_with_binary_attachments_and_an_ack(socketio_server: Endpoint) -> None:
    async with await _connected(socketio_server) as socket:
        await socket.send(
            '452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        )
        await socket.send(bytes([1, 2, 3]))
        await socket.send(bytes([4, 5, 6]))
        assert await receive_skipping_pings(socket) == (
            '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        )
        assert await receive_skipping_pings(socket) == bytes([1, 2, 3])
        assert await receive_skipping_pings(socket) == bytes([4, 5, 6])


async def test_closes_the_connection_upon_an_unknown_packet_type(socketio_server: Endpoint) -> None:
    async with await _connected(socketio_server) as socket:
        await socket.send("4abc")
        assert await closed(socket)


async def test_closes_the_connection_upon_an_invalid_payload_format(socketio_server: Endpoint) -> None:
    async with await _connected(socketio_server) as socket:
        await socket.send("42{}")
        assert await closed(socket)


async def test_closes_the_connection_upon_an_invalid_ack_id(socketio_server: Endpoint) -> None:
    async with await _connected(socketio_server) as socket:
        await socket.send('42abc["message-with-ack",1,"2",{"3":[false]}]')
        assert await closed(socket)
