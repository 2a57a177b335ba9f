"""ASGI application factory: FastAPI (REST under /api) inside the Socket.IO app, inside the edge stack.

Layering (STYLE.md §2.5): `socketio.ASGIApp` sends everything that is not /api/socketio to FastAPI, so
anything that must see socket traffic too (request ids, access logs, security headers, body limits)
wraps the OUTER app: `build_middleware_stack` in create_app.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from starlette.types import ASGIApp

from relay.api import (
    channels,
    client_errors,
    dms,
    health,
    me,
    messages,
    notifications,
    search,
    uploads,
    users,
    web,
)
from relay.api.errors import install_error_handlers, responses
from relay.api.links import install_links
from relay.auth.keys import key_source
from relay.auth.verifier import TokenVerifier
from relay.db.engine import create_engine, create_session_factory
from relay.lifecycle import Drain
from relay.middleware import build_middleware_stack
from relay.ratelimit import RateLimiter
from relay.realtime.hub import Hub
from relay.realtime.native import NativeSocketServer
from relay.realtime.server import create_socket_app, create_socket_server
from relay.runtime import Runtime
from relay.services.message_writer import MessageWriter
from relay.services.object_sweeper import ObjectSweeper
from relay.services.readiness import Readiness
from relay.settings import Settings
from relay.storage import Storage

log = logging.getLogger(__name__)
# Every /api route can answer these; declaring them keeps the OpenAPI document truthful (schemathesis).
COMMON_ERRORS = responses(400, 401, 403, 404, 409, 413, 422, 429)


def create_redis(settings: Settings) -> Redis:
    """The process's Redis client, which owns its pool (closing the client closes it).

    A blocking pool: a burst (hundreds of sockets closing at once) waits briefly for a connection
    instead of failing with "Too many connections" and leaving presence stale until it expires.
    One immediate retry on a connection error: after a Redis restart every pooled connection is
    dead, and without it the first command on each fails once (a presence write lost, a status
    change unseen). A command whose connection broke after it was sent may run twice; ours (key and
    set writes, rate-limit counters) tolerate that.
    """
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_pool_size,
        timeout=2,
        socket_connect_timeout=1,
        socket_timeout=2,
        health_check_interval=15,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    return Redis.from_pool(pool)


def _build_runtime(settings: Settings) -> Runtime:
    engine = create_engine(settings)
    redis = create_redis(settings)
    verifier = TokenVerifier(
        key_source(settings), issuer=settings.auth_issuer, allowed_origins=settings.allowed_origins
    )
    sessions = create_session_factory(engine)
    storage = Storage(settings)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        redis=redis,
        verifier=verifier,
        rate_limiter=RateLimiter(redis, settings),
        message_writer=MessageWriter(sessions),
        storage=storage,
        object_sweeper=ObjectSweeper(sessions, storage, interval=settings.object_sweep_seconds),
    )


def _lifespan(runtime: Runtime, hub: Hub):
    @contextlib.asynccontextmanager
    async def lifespan(_api: FastAPI) -> AsyncIterator[None]:
        native = hub.sio if isinstance(hub.sio, NativeSocketServer) else None
        if native is not None:
            await native.start()
        tasks = [
            asyncio.create_task(hub.rooms.listen(), name="room-sync"),
            asyncio.create_task(
                hub.presence.run(lambda user_id: hub.announce(user_id, offline=True)), name="presence"
            ),
            asyncio.create_task(hub.notifier.run(), name="notifications"),
            asyncio.create_task(hub.announcer.run(), name="presence-announcer"),
            asyncio.create_task(runtime.object_sweeper.run(), name="object-sweeper"),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await hub.announcer.drain()  # the sockets closed at shutdown: others see them go
            if native is not None:
                await native.stop()
            await hub.notifier.drain()
            with contextlib.suppress(RedisError, OSError):
                await hub.presence.release()
            await runtime.redis.aclose()
            await runtime.engine.dispose()

    return lifespan


def create_api(runtime: Runtime, hub: Hub, drain: Drain) -> FastAPI:
    api = FastAPI(
        title="Relay",
        version="0.1.0",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        # Starlette's slash redirect builds its Location from the client's Host header and the
        # plain-http scheme (issue 7, finding 8): a wrong path is a 404 instead.
        redirect_slashes=False,
        lifespan=_lifespan(runtime, hub),
    )
    api.state.runtime, api.state.hub, api.state.drain = runtime, hub, drain
    api.state.readiness = Readiness(runtime.settings, runtime.engine, runtime.redis)
    install_error_handlers(api)
    api.include_router(health.router)
    routers = (me, users, channels, messages, dms, uploads, search, notifications, client_errors)
    for router in (module.router for module in routers):
        api.include_router(router, prefix="/api", responses=COMMON_ERRORS)
    web.install(api, runtime.settings)
    install_links(api)  # last: it reads every route
    return api


def create_app(settings: Settings, *, drain: Drain | None = None) -> ASGIApp:
    return create_app_and_socket_server(settings, drain=drain)[0]


def create_app_and_socket_server(
    settings: Settings, *, drain: Drain | None = None
) -> tuple[ASGIApp, NativeSocketServer | None]:
    """The ASGI app, and the native socket server when RELAY_SOCKET_SERVER=native (its connections
    on the main port are handed to it before uvicorn parses them: relay.cli passes its protocol)."""
    runtime = _build_runtime(settings)
    sio, hub = create_socket_server(runtime)
    api = create_api(runtime, hub, drain or Drain())
    inner = create_socket_app(sio, api, runtime)
    native = sio if isinstance(sio, NativeSocketServer) else None
    return build_middleware_stack(inner, settings, runtime.redis), native
