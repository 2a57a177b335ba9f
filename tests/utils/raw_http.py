"""HTTP/1.1 written byte for byte, for requests no well-behaved client library will send
(smuggling, obs-fold, oversize and trickled heads). Every read has a deadline."""

import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RawAnswer:
    data: bytes
    seconds: float  # from the first byte sent until the server closed, or the deadline
    closed: bool  # the server closed the connection (False: still open at the deadline)

    @property
    def statuses(self) -> list[int]:
        """The status of every response in the stream, in order (two means a second request was seen)."""
        return [
            int(line.split(b" ", 2)[1])
            for line in self.data.split(b"\r\n")
            if line.startswith(b"HTTP/1.")
            and len(line.split(b" ", 2)) > 1
            and line.split(b" ", 2)[1].isdigit()
        ]

    @property
    def status(self) -> int | None:
        return self.statuses[0] if self.statuses else None

    def header(self, name: str) -> str | None:
        head = self.data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        for line in head.split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


def connect(port: int, *, tls: ssl.SSLContext | None = None, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    if tls is not None:
        sock = tls.wrap_socket(sock, server_hostname="localhost")
    return sock


def exchange(
    port: int,
    parts: bytes | Iterable[bytes],
    *,
    tls: ssl.SSLContext | None = None,
    pause: float = 0.0,
    within: float = 30.0,
    source: str = "127.0.0.1",
) -> RawAnswer:
    """Send `parts` (one pause between each), then read until the server closes or `within` s pass.
    A server that closes while parts are still being sent ends the exchange there."""
    chunks = [parts] if isinstance(parts, bytes) else list(parts)
    started = time.monotonic()
    received = bytearray()
    with connect(port, tls=tls, source=source) as sock:
        try:
            for index, chunk in enumerate(chunks):
                if index and pause:
                    time.sleep(pause)
                    if _server_spoke(sock, received):
                        return RawAnswer(
                            bytes(received), time.monotonic() - started, _drain(sock, received, 5)
                        )
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            return RawAnswer(bytes(received), time.monotonic() - started, True)
        closed = _drain(sock, received, within - (time.monotonic() - started))
    return RawAnswer(bytes(received), time.monotonic() - started, closed)


def _server_spoke(sock: socket.socket, received: bytearray) -> bool:
    sock.setblocking(False)
    try:
        data = sock.recv(65536)
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except (ConnectionResetError, ssl.SSLError):
        return True
    finally:
        sock.setblocking(True)
    received += data
    return True


def _drain(sock: socket.socket, received: bytearray, within: float) -> bool:
    """Read into `received` until the peer closes (True) or `within` s pass (False)."""
    deadline = time.monotonic() + max(within, 0.1)
    while (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            return False
        except (ConnectionResetError, ssl.SSLError):
            return True
        if not data:
            return True
        received += data
    return False
