"""The redaction filter removes credentials and message bodies from any record, whoever logs it."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from relay.logging import REDACTED, RequestContext, bind_user_id, init_sentry, json_handler, request_context
from relay.settings import Settings
from tests.utils.sentry_sink import sentry_sink

REPO_ROOT = Path(__file__).resolve().parents[2]
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


def emit(settings: Settings, message: str, *args: object, **extra: object) -> dict[str, object]:
    stream = io.StringIO()
    logger = logging.getLogger("relay.test.redaction")
    logger.propagate = False
    handler = json_handler(settings, stream)
    logger.addHandler(handler)
    try:
        logger.warning(message, *args, extra=extra)
    finally:
        logger.removeHandler(handler)
    return json.loads(stream.getvalue())


def test_bearer_tokens_are_redacted_from_messages_and_arguments(settings: Settings) -> None:
    line = emit(settings, "auth header was %s", f"Bearer {JWT}")
    assert JWT not in json.dumps(line)
    assert line["message"] == f"auth header was Bearer {REDACTED}"


def test_bare_jwts_are_redacted(settings: Settings) -> None:
    line = emit(settings, f"handshake auth {{'token': '{JWT}'}}")
    assert JWT not in json.dumps(line)


def test_token_query_parameters_are_redacted(settings: Settings) -> None:
    line = emit(settings, "GET /api/socketio/?EIO=4&token=abc123&transport=polling")
    assert line["message"] == f"GET /api/socketio/?EIO=4&token={REDACTED}&transport=polling"


def test_session_cookie_is_redacted(settings: Settings) -> None:
    line = emit(settings, "cookie: theme=dark; __session=opaque-value")
    assert "opaque-value" not in json.dumps(line)
    assert "theme=dark" in str(line["message"])


def test_sensitive_extra_fields_are_dropped(settings: Settings) -> None:
    line = emit(
        settings,
        "request",
        authorization="Bearer x",
        cookie="a=b",
        body="the message text",
        headers={"Authorization": "Bearer y", "Accept": "application/json"},
    )
    assert line["authorization"] == REDACTED
    assert line["cookie"] == REDACTED
    assert line["body"] == REDACTED
    assert line["headers"] == {"Authorization": REDACTED, "Accept": "application/json"}


def test_exception_tracebacks_are_redacted(settings: Settings) -> None:
    stream = io.StringIO()
    logger = logging.getLogger("relay.test.traceback")
    logger.propagate = False
    handler = json_handler(settings, stream)
    logger.addHandler(handler)
    try:
        raise ValueError(f"bad token {JWT}")
    except ValueError:
        logger.exception("verification failed")
    finally:
        logger.removeHandler(handler)
    assert JWT not in stream.getvalue()
    assert "ValueError" in json.loads(stream.getvalue())["exc_info"]


def test_lines_carry_request_and_user_ids_once_bound(settings: Settings) -> None:
    token = request_context.set(RequestContext(request_id="req-1"))
    try:
        bind_user_id("alice")
        line = emit(settings, "inside a request")
    finally:
        request_context.reset(token)
    assert line["request_id"] == "req-1"
    assert line["user_id"] == "alice"
    assert line["replica"] == "test-replica"


def test_sentry_is_off_without_a_dsn(settings: Settings) -> None:
    assert settings.sentry_dsn is None
    assert init_sentry(settings) is False


# The SDK patches threading and logging process-wide; it runs in a child process so that nothing
# it installs outlives this test (an in-process init crashed later, unrelated tests). The secrets
# reach the child through its environment: Sentry reports argv, so argv would leak them itself.
SENTRY_CHILD = """
import asyncio, os
import sentry_sdk
from tests.utils.asgi_client import asgi_client
from tests.utils.edge_app import build_edge_test_app
from tests.utils.settings import make_settings

async def main(dsn, redis_url, jwt):
    settings = make_settings(redis_url, sentry_dsn=dsn)
    app = build_edge_test_app(settings)  # build_middleware_stack initialises Sentry
    async with asgi_client(app) as client:
        response = await client.get(
            "/api/boom?token=query-secret",
            headers={"Authorization": "Bearer " + jwt, "Cookie": "__session=cookie-secret"},
        )
    assert response.status_code == 500, response.status_code
    sentry_sdk.flush(timeout=5)

asyncio.run(main(os.environ["SINK_DSN"], os.environ["SINK_REDIS_URL"], os.environ["SINK_JWT"]))
"""


def test_sentry_reports_errors_without_credentials_or_bodies(settings: Settings) -> None:
    with sentry_sink() as (dsn, envelopes):
        subprocess.run(
            [sys.executable, "-c", SENTRY_CHILD],
            env={**os.environ, "SINK_DSN": dsn, "SINK_REDIS_URL": str(settings.redis_url), "SINK_JWT": JWT},
            check=True,
            timeout=60,
            cwd=REPO_ROOT,
        )
    sent = b"".join(envelopes).decode()
    assert "deliberate failure for the 500 test" in sent, "the error should have been reported"
    for secret in (JWT, "query-secret", "cookie-secret"):
        assert secret not in sent


def test_non_string_messages_are_redacted_too(settings: Settings) -> None:
    line = emit(settings, {"authorization": f"Bearer {JWT}"})  # type: ignore[arg-type]
    assert JWT not in json.dumps(line)
