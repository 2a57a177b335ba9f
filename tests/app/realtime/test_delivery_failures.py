"""A socket send that fails is counted: the AppSocketDeliveryFailures alarm reads this counter."""

import socketio
from engineio.exceptions import EngineIOError
from prometheus_client import REGISTRY

from relay.realtime.fanout import InlineDelivery

FAILURES = "relay_socket_delivery_failures_total"


class ClosingServer:
    """Just enough of an AsyncServer: the second socket closed before the send reached it."""

    packet_class = socketio.packet.Packet

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def _send_eio_packet(self, eio_sid: str, _packet) -> None:
        if eio_sid == "eio-closed":
            raise EngineIOError("socket closed")
        self.sent.append(eio_sid)


async def test_a_send_to_a_closed_socket_is_counted_and_the_others_still_get_the_event() -> None:
    manager = InlineDelivery()
    server = ClosingServer()
    manager.set_server(server)
    manager.initialize()
    for sid, eio_sid in (("open", "eio-open"), ("closed", "eio-closed")):
        manager.basic_enter_room(sid, "/", "channel:1", eio_sid=eio_sid)
    before = REGISTRY.get_sample_value(FAILURES) or 0.0
    await manager.emit("message:new", {"seq": 1}, "/", room="channel:1")
    assert server.sent == ["eio-open"]
    assert REGISTRY.get_sample_value(FAILURES) == before + 1
