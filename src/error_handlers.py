"""Every error leaves the API in one envelope:

    {"error": {"code": "...", "message": "...", "request_id": "...", "details": ...}}

4xx are logged as warnings, 5xx as errors. Outside development a 5xx never carries SQL,
driver messages or stack traces. Unhandled exceptions are turned into the 500 envelope by
`RequestContextMiddleware`, which also owns the request id.
"""

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from src.config import get_settings
from src.database_utils import (
    DEADLOCK_DETECTED,
    FOREIGN_KEY_VIOLATION,
    LOCK_NOT_AVAILABLE,
    QUERY_CANCELED,
    SERIALIZATION_FAILURE,
    UNIQUE_VIOLATION,
    sqlstate_of,
)
from src.exceptions import (
    AsyncDatabaseException,
    ChatsightError,
    ConflictError,
    InvalidInputError,
    LockTimeoutException,
    ServiceUnavailableError,
    TransactionConflictError,
)
from src.logging import get_logger

log = get_logger(__name__)

#: Where the body limit in force for a request is kept (`scope["state"]`, by the middleware).
BODY_LIMIT_STATE = "max_body_bytes"

HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


def request_id_of(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


def error_response(
    request_id: str | None,
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {
        "error": {
            "code": code,
            "message": message,
            "request_id": request_id,
            "details": jsonable_encoder(details),
        }
    }
    return JSONResponse(body, status_code=status_code, headers=headers)


def _render(request: Request, exc: ChatsightError) -> JSONResponse:
    # A 503 is the service saying "busy or a dependency is away, come back": a warning, with
    # no traceback (a readiness probe meets one every few seconds while it lasts).
    failure = exc.status_code >= 500 and exc.status_code != 503
    level = log.error if failure else log.warning
    level(
        "request.error",
        status=exc.status_code,
        code=exc.code,
        error=exc.message,
        exc_info=exc if failure else None,
    )
    return error_response(
        request_id_of(request),
        exc.status_code,
        exc.code,
        exc.message,
        exc.details,
        exc.headers,
    )


async def chatsight_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChatsightError)
    if isinstance(exc, AsyncDatabaseException) and not get_settings().is_development:
        exc = AsyncDatabaseException()
    return _render(request, exc)


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg"), "type": error.get("type")}
        for error in exc.errors()
    ]
    log.warning("request.invalid", status=422, errors=details)
    return error_response(
        request_id_of(request), 422, "validation_error", "The request is not valid", details
    )


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ").capitalize()
    level = log.error if exc.status_code >= 500 else log.warning
    level("request.error", status=exc.status_code, code=code, error=message)
    details = None
    if exc.status_code == 413:
        # A body that passed its limit while streaming (src/middleware.BodyLimitMiddleware).
        message = "The request body is too large"
        details = {"max_bytes": request.scope.get("state", {}).get(BODY_LIMIT_STATE)}
    return error_response(
        request_id_of(request), exc.status_code, code, message, details, exc.headers
    )


async def database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Raw driver errors that no service translated: classify on the SQLSTATE."""
    assert isinstance(exc, DBAPIError)
    sqlstate = sqlstate_of(exc)
    error: ChatsightError
    if sqlstate == UNIQUE_VIOLATION:
        error = ConflictError("A record with these values already exists")
    elif sqlstate == FOREIGN_KEY_VIOLATION:
        error = ConflictError("A referenced record does not exist or is still referenced")
    elif sqlstate is not None and sqlstate.startswith("23"):
        # NOT NULL and CHECK violations: a value the caller sent breaks a rule of the table.
        error = InvalidInputError("A value breaks a rule of the data model")
    elif sqlstate == LOCK_NOT_AVAILABLE:
        error = LockTimeoutException()
    elif sqlstate in (SERIALIZATION_FAILURE, DEADLOCK_DETECTED):
        error = TransactionConflictError()
    elif sqlstate is not None and sqlstate.startswith("22"):
        # Class 22, data exceptions: a value the column cannot hold came from the caller.
        error = InvalidInputError("A value is out of range or malformed")
    elif sqlstate == QUERY_CANCELED:
        error = ServiceUnavailableError("The database is busy; retry shortly", retry_after=2)
    elif (
        exc.connection_invalidated
        or sqlstate is None
        or sqlstate.startswith("08")  # connection exceptions
        or sqlstate.startswith("57")  # operator intervention: shutdown, terminated backend
    ):
        error = ServiceUnavailableError("The database is unavailable")
    else:
        detail = str(exc.orig) if get_settings().is_development else None
        error = AsyncDatabaseException(
            details={"sqlstate": sqlstate, "detail": detail} if detail else None
        )
    if error.status_code >= 500:
        log.error("request.database_error", sqlstate=sqlstate, exc_info=exc)
    return _render(request, error)


async def unreachable_database_handler(request: Request, exc: Exception) -> JSONResponse:
    """No connection to be had: the pool stayed full past its timeout (not a driver error),
    or connecting failed (refused, reset, timed out)."""
    busy = isinstance(exc, PoolTimeoutError)
    log.error("request.database_unreachable", pool_timeout=busy, error=repr(exc))
    message = "The database is busy; retry shortly" if busy else "The database is unavailable"
    return _render(request, ServiceUnavailableError(message, retry_after=2 if busy else 5))


def register_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ChatsightError, chatsight_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(DBAPIError, database_error_handler)
    app.add_exception_handler(PoolTimeoutError, unreachable_database_handler)
    # A connection refused or reset on the way to the database (asyncpg raises these as is).
    app.add_exception_handler(ConnectionError, unreachable_database_handler)
