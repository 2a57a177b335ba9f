"""Socket.IO v5 packets: `<type>[<attachments>-][<namespace>,][<ack id>][JSON]`, binary attachments.

A binary packet (5 event, 6 ack) is sent as its text header with `{"_placeholder":true,"num":n}` in
place of each bytes value, followed by one binary Engine.IO message per attachment.
"""

import json
from dataclasses import dataclass, field
from typing import Any

CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR, BINARY_EVENT, BINARY_ACK = range(7)
DEFAULT_NAMESPACE = "/"
MAX_ATTACHMENTS = 10
_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class SocketPacketError(ValueError):
    """Not a Socket.IO v5 packet a client may send: the session that sent it is closed."""


@dataclass
class SocketPacket:
    kind: int
    namespace: str = DEFAULT_NAMESPACE
    data: Any = None
    ack_id: int | None = None
    attachments: int = 0
    buffers: list[bytes] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.buffers) >= self.attachments


def decode(text: str) -> SocketPacket:
    if not text or not text[0].isdigit() or int(text[0]) > BINARY_ACK:
        raise SocketPacketError(f"unknown packet type {text[:1]!r}")
    packet, rest = SocketPacket(int(text[0])), text[1:]
    if packet.kind in (BINARY_EVENT, BINARY_ACK):
        count, dash, rest = rest.partition("-")
        if not dash or not count.isdigit() or not 0 < int(count) <= MAX_ATTACHMENTS:
            raise SocketPacketError("bad attachment count")
        packet.attachments = int(count)
    if rest.startswith("/"):
        namespace, comma, rest = rest.partition(",")
        packet.namespace = namespace
        if not comma and rest:
            raise SocketPacketError("namespace without a comma")
    digits = len(rest) - len(rest.lstrip("0123456789"))
    if digits:
        if digits > 15:
            raise SocketPacketError("ack id too long")
        packet.ack_id, rest = int(rest[:digits]), rest[digits:]
    if rest:
        try:
            packet.data = json.loads(rest)
        except ValueError:
            raise SocketPacketError("payload is not JSON") from None
    _check_shape(packet)
    return packet


def _check_shape(packet: SocketPacket) -> None:
    kind, data = packet.kind, packet.data
    if kind == CONNECT and data is not None and not isinstance(data, dict):
        raise SocketPacketError("CONNECT payload must be an object")
    if kind in (EVENT, BINARY_EVENT) and not (isinstance(data, list) and data and isinstance(data[0], str)):
        raise SocketPacketError("EVENT payload must be an array starting with the event name")
    if kind in (ACK, BINARY_ACK) and (packet.ack_id is None or not isinstance(data, list)):
        raise SocketPacketError("ACK needs an id and an array payload")
    if kind == CONNECT_ERROR:
        raise SocketPacketError("CONNECT_ERROR is sent by servers only")


def reconstruct(packet: SocketPacket) -> None:
    """Put the received attachments back where their placeholders are."""

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("_placeholder") is True:
                num = value.get("num")
                if not isinstance(num, int) or not 0 <= num < len(packet.buffers):
                    raise SocketPacketError("placeholder refers to no attachment")
                return packet.buffers[num]
            return {key: fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [fill(item) for item in value]
        return value

    packet.data = fill(packet.data)


def encode(
    kind: int, data: Any = None, *, namespace: str = DEFAULT_NAMESPACE, ack_id: int | None = None
) -> list[str | bytes]:
    """The Engine.IO MESSAGE payloads of one packet: its text, then any binary attachments."""
    buffers: list[bytes] = []
    if kind in (EVENT, ACK) and _has_binary(data):
        data = _deconstruct(data, buffers)
        kind += BINARY_EVENT - EVENT
    head = str(kind)
    if buffers:
        head += f"{len(buffers)}-"
    if namespace != DEFAULT_NAMESPACE:
        head += namespace + ","
    if ack_id is not None:
        head += str(ack_id)
    if data is not None:
        head += _compact(data)
    return [head, *buffers]


def _has_binary(value: Any) -> bool:
    if isinstance(value, bytes | bytearray):
        return True
    if isinstance(value, dict):
        return any(_has_binary(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_binary(item) for item in value)
    return False


def _deconstruct(value: Any, buffers: list[bytes]) -> Any:
    if isinstance(value, bytes | bytearray):
        buffers.append(bytes(value))
        return {"_placeholder": True, "num": len(buffers) - 1}
    if isinstance(value, dict):
        return {key: _deconstruct(item, buffers) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_deconstruct(item, buffers) for item in value]
    return value
