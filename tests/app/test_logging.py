"""The redaction filter removes credentials and message bodies from any record, whoever logs it."""

import io
import json
import logging

import sentry_sdk

from relay.logging import REDACTED, RequestContext, bind_user_id, init_sentry, json_handler, request_context
from relay.settings import Settings

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


def test_sentry_never_sends_pii(settings: Settings) -> None:
    configured = settings.model_copy(update={"sentry_dsn": "https://public@127.0.0.1:9/1"})
    try:
        assert init_sentry(configured) is True
        options = sentry_sdk.get_client().options
        assert options["send_default_pii"] is False
        assert options["max_request_body_size"] == "never"
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # back to a disabled client for the rest of the session
