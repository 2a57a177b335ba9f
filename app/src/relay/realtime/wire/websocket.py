"""RFC 6455 websocket framing for the server side: the opening handshake and frame codec.

A plain implementation on bytes, so the listener stays an ordinary asyncio Protocol. Frames from
clients must be masked; fragmented messages are reassembled; a message above `max_size` closes the
connection with 1009 (DESIGN §4: 64 KiB) before its payload is buffered.
"""

import base64
import hashlib
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
NORMAL, PROTOCOL_ERROR, INVALID_DATA, POLICY, TOO_BIG = 1000, 1002, 1007, 1008, 1009


class FrameError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + GUID, usedforsecurity=False).digest()).decode(
        "ascii"
    )


def handshake_response(key: str) -> bytes:
    return (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
    ).encode("ascii")


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked final frame (servers never mask)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + payload


def text_frame(text: str) -> bytes:
    return encode_frame(TEXT, text.encode("utf-8"))


def close_frame(code: int, reason: str = "") -> bytes:
    return encode_frame(CLOSE, struct.pack("!H", code) + reason.encode("utf-8")[:120])


def _unmask(payload: bytes, mask: bytes) -> bytes:
    # XOR as one big integer: far faster in CPython than a loop over bytes.
    size = len(payload)
    repeated = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")).to_bytes(size, "little")


class FrameReader:
    """Accumulates bytes; `messages()` yields complete (opcode, payload) messages and control frames."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._buffer = bytearray()
        self._fragments: list[bytes] = []
        self._fragment_opcode = 0
        self._fragment_size = 0

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def messages(self):
        while True:
            frame = self._next_frame()
            if frame is None:
                return
            fin, opcode, payload = frame
            if opcode >= CLOSE:
                if not fin or len(payload) > 125:
                    raise FrameError(PROTOCOL_ERROR, "fragmented or oversized control frame")
                yield opcode, payload
            elif opcode == CONTINUATION:
                if not self._fragments:
                    raise FrameError(PROTOCOL_ERROR, "continuation without a first frame")
                yield from self._continue(fin, payload)
            elif opcode in (TEXT, BINARY):
                if self._fragments:
                    raise FrameError(PROTOCOL_ERROR, "new message inside a fragmented one")
                if fin:
                    yield opcode, payload
                else:
                    self._fragment_opcode, self._fragment_size = opcode, 0
                    yield from self._continue(False, payload)
            else:
                raise FrameError(PROTOCOL_ERROR, f"unknown opcode {opcode}")

    def _continue(self, fin: bool, payload: bytes):
        self._fragment_size += len(payload)
        if self._fragment_size > self.max_size:
            raise FrameError(TOO_BIG, f"message exceeds the limit of {self.max_size} bytes")
        self._fragments.append(payload)
        if fin:
            message = b"".join(self._fragments)
            self._fragments = []
            yield self._fragment_opcode, message

    def _next_frame(self) -> tuple[bool, int, bytes] | None:
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        first, second = buffer[0], buffer[1]
        if first & 0x70:
            raise FrameError(PROTOCOL_ERROR, "reserved bits set (no extension was negotiated)")
        if not second & 0x80:
            raise FrameError(PROTOCOL_ERROR, "client frames must be masked")
        size, offset = second & 0x7F, 2
        if size == 126:
            if len(buffer) < 4:
                return None
            size, offset = struct.unpack_from("!H", buffer, 2)[0], 4
        elif size == 127:
            if len(buffer) < 10:
                return None
            size, offset = struct.unpack_from("!Q", buffer, 2)[0], 10
        if size > self.max_size:
            raise FrameError(TOO_BIG, f"message exceeds the limit of {self.max_size} bytes")
        end = offset + 4 + size
        if len(buffer) < end:
            return None
        mask = bytes(buffer[offset : offset + 4])
        payload = _unmask(bytes(buffer[offset + 4 : end]), mask)
        del buffer[:end]
        return bool(first & 0x80), first & 0x0F, payload
