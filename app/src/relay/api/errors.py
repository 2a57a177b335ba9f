"""One body for every 4xx: {"error": {"code", "message"}} (DESIGN §4a), and for the 503 of an
unreachable database or S3 (a clean, retryable answer instead of a 500).

Handlers here turn RelayError, FastAPI's validation errors and Starlette's HTTP errors (404 for an
unknown route, 405, malformed JSON) into that body, so clients and schemathesis see one shape.
"""

from botocore.exceptions import ConnectionError as StorageConnectionError
from botocore.exceptions import HTTPClientError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from relay.db.engine import UNAVAILABLE_ERRORS, database_unavailable
from relay.errors import RelayError


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI `responses=` entries for the 4xx statuses a route can answer."""
    return {status: {"model": ErrorBody, "description": "error"} for status in statuses}


def _describe_validation(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        parts.append(f"{location}: {item.get('msg')}" if location else str(item.get("msg")))
    return "; ".join(parts) or "invalid request"


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(RelayError)
    async def relay_error(_request: Request, error: RelayError) -> JSONResponse:
        return error_response(error.status, error.code, error.message, error.headers)

    @api.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        malformed = any(item.get("type") == "json_invalid" for item in error.errors())
        if malformed:
            return error_response(400, "malformed_json", "request body is not valid JSON")
        return error_response(422, "invalid_request", _describe_validation(error))

    async def unavailable(_request: Request, error: Exception) -> JSONResponse:
        if not database_unavailable(error):
            raise error  # a bug, not an outage: the 500 and its traceback stay
        return error_response(
            503, "unavailable", "the database is unreachable; retry shortly", {"Retry-After": "1"}
        )

    for error_class in UNAVAILABLE_ERRORS:
        api.add_exception_handler(error_class, unavailable)

    async def storage_unavailable(_request: Request, _error: Exception) -> JSONResponse:
        # botocore's connect/read failures (refused, reset, timed out) after its own retries. An
        # answer from S3 (ClientError) is not an outage and keeps its 500.
        return error_response(
            503,
            "storage_unavailable",
            "file storage is unreachable; your upload is kept as it is, retry shortly",
            {"Retry-After": "5"},
        )

    for error_class in (StorageConnectionError, HTTPClientError):
        api.add_exception_handler(error_class, storage_unavailable)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(error.status_code, "error")
        return error_response(error.status_code, code, str(error.detail), getattr(error, "headers", None))
