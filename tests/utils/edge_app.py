"""An app shaped like relay.main's outer app (Socket.IO in front of FastAPI, wrapped by the real
middleware stack), with routes that produce the responses edge tests need: big, small, binary,
failing, body-reading and per-user-limited ones."""

import json

import socketio
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from redis.asyncio import Redis
from starlette.types import ASGIApp

from relay.api.errors import install_error_handlers
from relay.logging import bind_user_id
from relay.middleware import build_middleware_stack
from relay.ratelimit import RateLimiter
from relay.settings import Settings

LARGE_ITEMS = [{"id": str(i), "body": f"message number {i} in the channel"} for i in range(200)]
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16


def build_edge_test_app(settings: Settings) -> ASGIApp:
    api = FastAPI(openapi_url="/api/openapi.json")
    redis = Redis.from_url(str(settings.redis_url))
    limiter = RateLimiter(redis, settings)
    install_error_handlers(api)

    @api.get("/api/small")
    async def small() -> dict[str, str]:
        return {"ok": "yes"}

    @api.get("/api/large")
    async def large() -> dict[str, list[dict[str, str]]]:
        return {"messages": LARGE_ITEMS}

    @api.get("/api/stream")
    async def stream() -> StreamingResponse:
        async def chunks():  # type: ignore[no-untyped-def]
            for item in LARGE_ITEMS:
                yield json.dumps(item).encode() + b"\n"

        return StreamingResponse(chunks(), media_type="application/x-ndjson")

    @api.get("/api/image")
    async def image() -> Response:
        return Response(PNG_BYTES, media_type="image/png")

    @api.get("/api/private-cache")
    async def private_cache() -> Response:
        headers = {"Cache-Control": "private, max-age=60"}
        return Response(b"{}", media_type="application/json", headers=headers)

    @api.get("/api/boom")
    async def boom() -> None:
        raise RuntimeError("deliberate failure for the 500 test")

    @api.post("/api/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @api.post("/api/echo-rewrapped")
    async def echo_rewrapped(request: Request) -> dict[str, int]:
        """Turns any failure to read the body into its own error, as careless app code might."""
        try:
            body = await request.body()
        except Exception as error:  # the careless pattern under test
            raise RuntimeError("could not read the request body") from error
        return {"received": len(body)}

    @api.get("/api/users/{user_id}/limited")
    async def limited(user_id: str) -> dict[str, str]:
        bind_user_id(user_id)
        await limiter.enforce_user_api(user_id)
        return {"user": user_id}

    @api.get("/static/{name}")
    async def static(name: str) -> Response:
        return Response(b"console.log(1)", media_type="text/javascript")

    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=settings.allowed_origins)

    @sio.on("echo")
    async def on_echo(_sid: str, data: object) -> object:
        return data

    outer = socketio.ASGIApp(sio, other_asgi_app=api, socketio_path="api/socketio")
    return build_middleware_stack(outer, settings, redis)
