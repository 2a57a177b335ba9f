"""Engine.IO v4 packets and the long-polling payload (packets joined by the record separator)."""

import base64
import binascii
import json

OPEN, CLOSE, PING, PONG, MESSAGE, UPGRADE, NOOP = "0123456"
RECORD_SEPARATOR = "\x1e"
BINARY_PREFIX = "b"  # a binary packet inside a polling payload: "b" + base64
PROBE = "probe"
# Packet types a client may send on each transport; anything else closes the session, as the
# reference server does (a v4 client pings only to probe a websocket, and upgrades on one).
POLLING_CLIENT_TYPES = frozenset((CLOSE, PONG, MESSAGE))
WEBSOCKET_CLIENT_TYPES = frozenset((CLOSE, PING, PONG, MESSAGE, UPGRADE))

Packet = tuple[str, str | bytes]  # (type, data); binary MESSAGE packets carry bytes


class PacketError(ValueError):
    """A packet or payload that is not Engine.IO v4: the session that sent it is closed."""


def decode_text(text: str, allowed: frozenset[str] = WEBSOCKET_CLIENT_TYPES) -> Packet:
    kind = text[:1]
    if kind not in allowed:
        raise PacketError(f"unknown packet type {kind!r}" if kind else "empty packet")
    return kind, text[1:]


def decode_payload(body: bytes) -> list[Packet]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PacketError("payload is not UTF-8") from None
    packets: list[Packet] = []
    for part in text.split(RECORD_SEPARATOR):
        if part.startswith(BINARY_PREFIX):
            try:
                packets.append((MESSAGE, base64.b64decode(part[1:], validate=True)))
            except binascii.Error:
                raise PacketError("binary packet is not base64") from None
        else:
            packets.append(decode_text(part, POLLING_CLIENT_TYPES))
    return packets


def encode_text(kind: str, data: str = "") -> str:
    return kind + data


def encode_payload(packets: list[str | bytes]) -> bytes:
    """Polling response body: text packets as they are, binary ones as "b" + base64."""
    parts = [
        part if isinstance(part, str) else BINARY_PREFIX + base64.b64encode(part).decode("ascii")
        for part in packets
    ]
    return RECORD_SEPARATOR.join(parts).encode("utf-8")


def handshake(
    sid: str, *, upgrades: list[str], ping_interval: float, ping_timeout: float, max_payload: int
) -> str:
    return OPEN + json.dumps(
        {
            "sid": sid,
            "upgrades": upgrades,
            "pingInterval": round(ping_interval * 1000),
            "pingTimeout": round(ping_timeout * 1000),
            "maxPayload": max_payload,
        },
        separators=(",", ":"),
    )
