"""The replica's HTTP protocol limits the head, not the app: bodies and slow answers are untouched.

The attacks themselves (2 MB headers, trickled heads and bodies) are in tests/security/test_http.py;
here the deadlines are shortened so the test can show what they must NOT cut.
"""

import asyncio

from starlette.types import Receive, Scope, Send

from relay.http_protocol import LimitedHttpToolsProtocol
from relay.realtime.native import SocketSniffingProtocol
from tests.utils.raw_http import exchange
from tests.utils.server import serve

DEADLINE = 0.3
SHORT = LimitedHttpToolsProtocol.with_limits(
    max_head_bytes=16 * 1024, head_timeout_seconds=DEADLINE, body_timeout_seconds=DEADLINE
)


async def echo_length_slowly(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body, then takes longer than any deadline to answer its length."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await asyncio.sleep(3 * DEADLINE)
    body = str(size).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]}
    )
    await send({"type": "http.response.body", "body": body})


async def test_a_body_sent_in_small_pieces_is_not_counted_as_head() -> None:
    body = b"x" * 60_000
    request = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    parts = [request] + [body[i : i + 1000] for i in range(0, len(body), 1000)]
    async with serve(echo_length_slowly, SHORT) as url:
        port = int(url.rsplit(":", 1)[1])
        answer = await asyncio.to_thread(exchange, port, parts, pause=0.001, within=10)
    assert answer.status == 200
    assert answer.data.endswith(b"60000")


async def test_a_large_last_piece_of_a_body_is_not_counted_as_head() -> None:
    """The read that completes a message ends outside any head, however large it is (it gave 431)."""
    body = b"x" * 70_000
    request = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    async with serve(echo_length_slowly, SHORT) as url:
        port = int(url.rsplit(":", 1)[1])
        parts = [request, body[:10], body[10:]]
        answer = await asyncio.to_thread(exchange, port, parts, pause=0.05, within=10)
    assert answer.status == 200
    assert answer.data.endswith(b"70000")


async def test_an_app_slower_than_the_deadlines_still_answers() -> None:
    request = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    async with serve(echo_length_slowly, SHORT) as url:
        port = int(url.rsplit(":", 1)[1])
        answer = await asyncio.to_thread(exchange, port, request, within=10)
    assert answer.status == 200


async def test_silence_on_the_native_servers_main_port_gets_408_at_the_head_deadline() -> None:
    """The native socket server reads a first line before it picks a protocol: that wait counts
    toward the head deadline (it left a silent connection open for good)."""

    def sniffing(**uvicorn_state: object) -> SocketSniffingProtocol:
        # No wire server: a connection that names no path never reaches it.
        return SocketSniffingProtocol(None, lambda: SHORT(**uvicorn_state), DEADLINE)  # type: ignore[arg-type]

    async with serve(echo_length_slowly, sniffing) as url:  # type: ignore[arg-type]
        port = int(url.rsplit(":", 1)[1])
        answer = await asyncio.to_thread(exchange, port, b"", within=10)
    assert answer.status == 408
    assert answer.closed and answer.seconds < 10 * DEADLINE


async def test_a_head_trickled_past_the_deadline_gets_408() -> None:
    parts = [b"GET / HTTP/1.1\r\n", b"Host: t\r\n", b"X-A: 1\r\n", b"X-B: 1\r\n", b"\r\n"]
    async with serve(echo_length_slowly, SHORT) as url:
        port = int(url.rsplit(":", 1)[1])
        answer = await asyncio.to_thread(exchange, port, parts, pause=DEADLINE / 2, within=10)
    assert answer.status == 408
    assert answer.closed


async def test_the_configured_head_size_is_the_limit() -> None:
    """RELAY_HTTP_MAX_HEAD_BYTES reaches the protocol: a 3 KiB header passes the default, not 2 KiB."""
    request = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: %s\r\nConnection: close\r\n\r\n" % (b"y" * 3000)
    small = LimitedHttpToolsProtocol.with_limits(
        max_head_bytes=2048, head_timeout_seconds=10, body_timeout_seconds=10
    )
    answers = {}
    for name, protocol in {"default": LimitedHttpToolsProtocol, "2 KiB": small}.items():
        async with serve(echo_length_slowly, protocol) as url:
            port = int(url.rsplit(":", 1)[1])
            answers[name] = await asyncio.to_thread(exchange, port, request, within=10)
    assert answers["default"].status == 200
    assert answers["2 KiB"].status == 431
    assert b"exceed 2048 bytes" in answers["2 KiB"].data
