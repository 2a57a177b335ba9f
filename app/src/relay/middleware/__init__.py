"""The pure-ASGI middleware stack around the outer app (Socket.IO + FastAPI), in one place.

Order, outermost first, and why:
1. RequestContextMiddleware: client IP and request id first, so every later log line and every
   response (websocket handshakes too) carries them; times the whole request.
2. SecurityHeaders: outside everything that can answer (413, 429, 500) so errors get them too.
3. Cors: outside the rate limit, so a browser can read Retry-After on a 429.
4. IPRateLimit: before the body is read; probes, /metrics and Socket.IO are exempt.
5. BodyLimit: refuses oversize bodies before the app parses them.
6. CacheControl, 7. Compression: response shaping, closest to the app.
8. MetricsEndpoint: answers /metrics; everything else reaches the app.
"""

from redis.asyncio import Redis
from starlette.types import ASGIApp

from relay.logging import configure_logging, init_sentry
from relay.metrics import MetricsEndpoint
from relay.middleware.body_limit import BodyLimit
from relay.middleware.cache_control import CacheControl
from relay.middleware.client_ip import TrustedProxies
from relay.middleware.compression import Compression
from relay.middleware.cors import Cors
from relay.middleware.request_context import RequestContextMiddleware
from relay.middleware.security_headers import SecurityHeaders, content_security_policy, upload_origins
from relay.ratelimit import IPRateLimit, RateLimiter
from relay.settings import Settings

SOCKETIO_PATH = "/api/socketio"  # relay.realtime.server mounts Socket.IO here (a test checks they agree)

__all__ = ["SOCKETIO_PATH", "build_middleware_stack"]


def build_middleware_stack(app: ASGIApp, settings: Settings, redis: Redis) -> ASGIApp:
    """Wrap the outer ASGI app. Also configures JSON logging and Sentry: both are per process, and
    this runs once per process, from create_app."""
    configure_logging(settings)
    init_sentry(settings)
    stack: ASGIApp = MetricsEndpoint(app)
    stack = Compression(stack)
    stack = CacheControl(stack)
    stack = BodyLimit(stack, max_bytes=settings.max_body_bytes, exempt_prefix=SOCKETIO_PATH)
    stack = IPRateLimit(stack, limiter=RateLimiter(redis, settings), socketio_path=SOCKETIO_PATH)
    stack = Cors(stack, allowed_origins=settings.allowed_origins, socketio_path=SOCKETIO_PATH)
    csp = content_security_policy(
        str(settings.public_url), upload_origins=upload_origins(settings), clerk_origin=settings.clerk_origin
    )
    stack = SecurityHeaders(stack, csp=csp, hsts_seconds=settings.effective_hsts_seconds)
    return RequestContextMiddleware(
        stack, trusted_proxies=TrustedProxies(settings.trusted_proxies), socketio_path=SOCKETIO_PATH
    )
