"""Per-request cost of the edge middleware stack, measured in process (no network, no client).

Calls the same FastAPI app bare and wrapped by build_middleware_stack with synthetic ASGI
messages, so the difference is the stack alone: request id, JSON access line, metrics, security
and cache headers, CORS check, body limit, compression decision, and the IP rate-limit round trip
to a real Redis (a private redis-server on a free port unless --redis-url is given). Websocket
traffic is measured per message sent, since a socket's messages only cross the request-context
wrapper.

    .venv/bin/python loadtests/bench_middleware.py [--requests 20000] [--redis-url redis://...]
"""

import argparse
import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from fastapi import FastAPI
from redis.asyncio import Redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay.middleware import build_middleware_stack
from relay.settings import Settings

CONCURRENCY = 50  # requests in progress at once, as on a busy replica


def build_api() -> FastAPI:
    api = FastAPI()

    @api.get("/api/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    @api.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return api


async def websocket_sender(scope: Scope, receive: Receive, send: Send) -> None:
    """A websocket app that accepts and sends `messages` frames, like a busy socket.io connection."""
    await receive()
    await send({"type": "websocket.accept"})
    frame: Message = {"type": "websocket.send", "text": "42" + "x" * 200}
    for _ in range(scope["messages"]):
        await send(frame)
    await send({"type": "websocket.close", "code": 1000})


def http_scope(path: str) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localhost:8443"),
            (b"accept-encoding", b"gzip, br"),
            (b"authorization", b"Bearer x.y.z"),
            (b"x-forwarded-for", b"203.0.113.9"),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8001),
    }


async def per_request_us(app: ASGIApp, path: str, requests: int, concurrency: int = 1) -> tuple[float, float]:
    """(wall, CPU) microseconds per request, with `concurrency` requests in progress at a time.
    Wall includes waiting for Redis, which a busy server spends on other requests; CPU is what
    bounds a replica's throughput."""

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: Message) -> None:
        return None

    for _ in range(200):  # warm-up: route caches, Lua script load, connection pool
        await app(http_scope(path), receive, send)

    async def client() -> None:
        for _ in range(requests // concurrency):
            await app(http_scope(path), receive, send)

    started, started_cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    return wall / requests * 1e6, cpu / requests * 1e6


async def per_ws_message_us(app: ASGIApp, messages: int) -> float:
    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(_message: Message) -> None:
        return None

    scope = {**http_scope("/api/socketio/"), "type": "websocket", "messages": messages}
    started = time.perf_counter()
    await app(scope, receive, send)
    return (time.perf_counter() - started) / messages * 1e6


@contextmanager
def private_redis() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="relay-bench-redis-")
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server not found: install it (apt-get install redis-server) or pass --redis-url")
    process = subprocess.Popen(  # noqa: S603  fixed argv: the redis-server found on PATH
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


async def run(redis_url: str, requests: int, log_sink: TextIO) -> None:
    settings = Settings(
        environment="prod",
        redis_url=redis_url,
        # Required by Settings; the bench builds no database engine, S3 client or verifier.
        database_url="postgresql+asyncpg://relay_app@127.0.0.1:5432/unused",
        s3_bucket="unused",
        auth_issuer="https://issuer.invalid",
        auth_public_key="unused",
        allowed_origins="https://chat.example.com",
        public_url="https://chat.example.com",
        rate_ip_per_second=1e9,  # measure the check, never a refusal
        replica_id="bench",
    )
    api = build_api()
    redis = Redis.from_url(redis_url)
    stacked = build_middleware_stack(api, settings, redis)
    ws_stacked = build_middleware_stack(websocket_sender, settings, redis)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(log_sink)
    bare = await per_request_us(api, "/api/ping", requests)
    bare_health = await per_request_us(api, "/healthz", requests)
    full = await per_request_us(stacked, "/api/ping", requests)
    exempt = await per_request_us(stacked, "/healthz", requests)
    bare_busy = await per_request_us(api, "/api/ping", requests, concurrency=CONCURRENCY)
    full_busy = await per_request_us(stacked, "/api/ping", requests, concurrency=CONCURRENCY)
    ws_bare = await per_ws_message_us(websocket_sender, requests * 5)
    ws_full = await per_ws_message_us(ws_stacked, requests * 5)
    await redis.aclose()
    print(f"requests per case: {requests} (microseconds per request: wall / CPU)")
    print(f"bare FastAPI GET /api/ping:                    {bare[0]:7.1f} / {bare[1]:7.1f}")
    print(f"edge stack, /api/ping (Redis IP rate check):   {full[0]:7.1f} / {full[1]:7.1f}", end="")
    print(f"   overhead +{full[0] - bare[0]:.1f} / +{full[1] - bare[1]:.1f}")
    print(f"bare FastAPI GET /healthz:                     {bare_health[0]:7.1f} / {bare_health[1]:7.1f}")
    print(f"edge stack, /healthz (exempt: no Redis):       {exempt[0]:7.1f} / {exempt[1]:7.1f}", end="")
    print(f"   overhead +{exempt[0] - bare_health[0]:.1f} / +{exempt[1] - bare_health[1]:.1f}")
    print(
        f"{CONCURRENCY} requests at a time, bare /api/ping:       {bare_busy[0]:7.1f} / {bare_busy[1]:7.1f}"
    )
    print(
        f"{CONCURRENCY} requests at a time, edge stack:           {full_busy[0]:7.1f} / {full_busy[1]:7.1f}",
        end="",
    )
    print(f"   overhead +{full_busy[0] - bare_busy[0]:.1f} / +{full_busy[1] - bare_busy[1]:.1f}")
    print(f"websocket send, bare / with the stack:         {ws_bare:7.2f} / {ws_full:7.2f} us per message")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--redis-url", help="use this Redis instead of starting a private one")
    args = parser.parse_args(argv)
    # Access lines are formatted and written as in production, to /dev/null instead of a terminal.
    with open(os.devnull, "w") as log_sink:
        if args.redis_url:
            asyncio.run(run(args.redis_url, args.requests, log_sink))
        else:
            with private_redis() as url:
                asyncio.run(run(url, args.requests, log_sink))
    return 0


if __name__ == "__main__":
    sys.exit(main())
