"""ASGI application factory."""

from fastapi import FastAPI
from redis.asyncio import Redis
from starlette.types import ASGIApp

from relay.middleware import build_middleware_stack
from relay.ratelimit import RateLimited, RateLimiter, rate_limited_handler
from relay.settings import Settings


def create_app(settings: Settings) -> ASGIApp:
    api = FastAPI(title="Relay", openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)

    @api.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Shallow liveness: the process and its event loop answer."""
        return {"status": "ok"}

    api.state.settings = settings
    redis = Redis.from_url(str(settings.redis_url))
    # Per-user API limit: the auth dependency calls api.state.rate_limiter.enforce_user_api(user_id).
    api.state.rate_limiter = RateLimiter(redis, settings)
    api.add_exception_handler(RateLimited, rate_limited_handler)
    return build_middleware_stack(api, settings, redis)
