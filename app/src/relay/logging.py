"""Structured JSON logs: one object per line, tagged with the request id, user id and replica.

Every record passes a redaction filter before it is formatted, so a careless log call cannot leak
a bearer token, a session cookie, a `token=` query parameter or a message body.
"""

import json
import logging
import re
import sys
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import sentry_sdk

from relay.settings import Settings

REDACTED = "[redacted]"
_HANDLER_NAME = "relay-json"
SENTRY_REQUEST_HEADERS = ("user-agent", "content-type", "content-length", "x-request-id")


@dataclass(slots=True)
class RequestContext:
    """Per-request facts every log line carries. Mutable on purpose: the auth code binds the user id
    deep inside the app, and the access-log middleware reads it from the same object afterwards
    (a ContextVar set inside a child context would not be visible to the middleware)."""

    request_id: str
    client_ip: str | None = None
    user_id: str | None = None


request_context: ContextVar[RequestContext | None] = ContextVar("relay_request_context", default=None)


def bind_user_id(user_id: str) -> None:
    """Called by the auth code once a token is verified, so logs of this request name the user."""
    context = request_context.get()
    if context is not None:
        context.user_id = user_id


# Values that must never reach a log line, whatever the call site formatted into it.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),  # any JWT
    (re.compile(r"(?i)([?&;\s]?[\w-]*token[\w-]*=)[^&\s\"']+"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)(__session=)[^;\s\"']+"), rf"\1{REDACTED}"),
)
# Structured fields dropped by name: headers that carry credentials, and message content.
_SECRET_FIELDS = frozenset(
    {"authorization", "cookie", "set-cookie", "token", "access_token", "password", "body", "query_string"}
)


# One cheap search decides whether the substitutions above need to run at all (most text: no).
_MIGHT_HOLD_SECRET = re.compile(r"(?i)bearer|eyJ|token|__session")


def redact_text(text: str) -> str:
    if _MIGHT_HOLD_SECRET.search(text) is None:
        return text
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(key: str, value: Any) -> Any:
    if key.lower() in _SECRET_FIELDS:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, item) for item in value]
    return value


class RedactionFilter(logging.Filter):
    """Rewrites the record in place: message, arguments and extra fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())  # also covers non-str messages
        record.args = None
        for key in list(record.__dict__):
            if key not in _STANDARD_ATTRIBUTES:
                record.__dict__[key] = redact_value(key, record.__dict__[key])
        return True


# Record attributes that are not extra fields; uvicorn's color_message repeats the message with ANSI codes.
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def __init__(self, replica_id: str) -> None:
        super().__init__()
        self.replica_id = replica_id

    def format(self, record: logging.LogRecord) -> str:
        timestamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry: dict[str, Any] = {
            "ts": f"{timestamp}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "replica": self.replica_id,
        }
        context = request_context.get()
        if context is not None:
            entry["request_id"] = context.request_id
            if context.user_id is not None:
                entry["user_id"] = context.user_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, separators=(",", ":"))


def json_handler(settings: Settings, stream: Any) -> logging.Handler:
    """A handler that redacts, then writes one JSON object per line to `stream`."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter(settings.replica_id))
    return handler


def configure_logging(settings: Settings) -> None:
    """Route the root logger (and uvicorn's, which keep their own handlers) through one JSON handler
    on stdout. Idempotent: a second call replaces the handler installed by the first."""
    handler = json_handler(settings, sys.stdout)
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # The access-log middleware writes one line per request; uvicorn's own would duplicate it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def init_sentry(settings: Settings) -> bool:
    """Error reporting is optional: enabled only when RELAY_SENTRY_DSN is set, and never with PII.

    `data_collection` supersedes the deprecated `send_default_pii` (left at its default, off): no
    user identity, cookies, bodies (message text), query strings (socket.io tokens) or local
    variables, and only harmless request headers."""
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.environment,
        server_name=settings.replica_id,
        traces_sample_rate=0.0,
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "allowlist", "terms": list(SENTRY_REQUEST_HEADERS)}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "stack_frame_variables": False,
            "database_query_data": False,
        },
    )
    return True
