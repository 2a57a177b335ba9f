"""Reports from the web client's error boundary: accepted (202), rate limited, logged redacted."""

import logging
from urllib.parse import urlsplit

from fastapi import APIRouter, status

from relay.api.deps import CurrentUser, RuntimeDep, SettingsDep
from relay.api.schemas import Accepted, ClientErrorIn
from relay.ratelimit import RateLimited

router = APIRouter(prefix="/client-errors", tags=["client-errors"])
log = logging.getLogger("relay.client_errors")
LOGGED_MESSAGE, LOGGED_STACK = 500, 4000


def _page(url: str) -> str:
    """Scheme, host and path only: query strings and fragments can carry tokens."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:300]


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def report_client_error(
    body: ClientErrorIn, user: CurrentUser, runtime: RuntimeDep, settings: SettingsDep
) -> Accepted:
    """Record an error the browser caught; one JSON log line, bounded and redacted."""
    rate = settings.client_errors_per_second
    decision = await runtime.rate_limiter.hit(f"client-errors:{user.user_id}", rate, max(1, round(rate * 10)))
    if not decision.allowed:
        raise RateLimited(decision)
    log.warning(
        "client error",
        extra={
            "event": "client.error",
            "client_message": body.message[:LOGGED_MESSAGE],
            "client_stack": (body.stack or "")[:LOGGED_STACK],
            "page": _page(body.url),
            "user_agent": body.user_agent[:200],
        },
    )
    return Accepted()
