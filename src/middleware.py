"""Plain ASGI middleware (not `BaseHTTPMiddleware`, so contextvars flow into the endpoint)."""

import re
import time
import uuid
from collections.abc import Callable

import structlog
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from src.error_handlers import BODY_LIMIT_STATE, error_response
from src.logging import get_logger
from src.metrics import HTTP_LATENCY, HTTP_METHODS, HTTP_REQUESTS

log = get_logger("chatsight.request")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


async def _answer_errors(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, started: Callable[[], bool]
) -> None:
    """Run `app`; an exception it lets out is logged and answered with the 500 envelope (no
    stack or SQL in the body), unless a response had already begun."""
    try:
        await app(scope, receive, send)
    except Exception:
        log.exception("request.unhandled_error", path=scope.get("path"))
        if started():
            raise
        request_id = scope.get("state", {}).get("request_id")
        response = error_response(request_id, 500, "internal_error", "Internal server error")
        await response(scope, receive, send)


class UnhandledErrorMiddleware:
    """The 500 envelope for an unhandled exception, answered inside CORS (and every other
    middleware that adds headers), so that the answer reaches a browser like any other."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await _answer_errors(self.app, scope, receive, send_tracked, lambda: started)


class RequestContextMiddleware:
    """Binds `request_id` (from `X-Request-ID`, or a new one) for every log line of the request,
    echoes it in the response, records request metrics, logs one line per request, and turns
    an unhandled exception into the 500 envelope (no stack or SQL in the body)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else None
        request_id = request_id or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id

        status = 500
        started = False
        begun = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        # What the request binds (its id here, the user's id once a token names one, in
        # src/auth) is dropped at its end, whatever context the server runs it in.
        outer = structlog.contextvars.get_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            # Errors are answered inside (UnhandledErrorMiddleware); this catches what a
            # middleware between the two raises.
            await _answer_errors(self.app, scope, receive, send_with_id, lambda: started)
        finally:
            elapsed = time.perf_counter() - begun
            route = route_template(scope)
            method = scope.get("method", "")
            label = method if method in HTTP_METHODS else "other"
            HTTP_REQUESTS.labels(method=label, route=route, status=str(status)).inc()
            HTTP_LATENCY.labels(method=label, route=route).observe(elapsed)
            # The user id, once a token named one, is bound in the context (src/auth).
            log.info(
                "request.completed",
                method=method,
                route=route,
                path=scope.get("path"),
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(**outer)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def route_template(scope: Scope) -> str:
    """The matched route's template with the prefix its router was included with
    (`/api/v1/chats/{chat_id}`), so that metrics and request lines have one series per route,
    never one per path a client makes up; "unmatched" for unknown paths."""
    template = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str):
        return "unmatched"
    # FastAPI keeps a route's own path; the inclusion (with its prefix) is beside it.
    included = scope.get("fastapi", {}).get("included_router")
    prefix = getattr(getattr(included, "include_context", None), "prefix", "")
    return f"{prefix}{template}" if isinstance(prefix, str) else template


class BodyLimitMiddleware:
    """Refuses request bodies over a size limit with 413 in the envelope: at once when the
    declared `Content-Length` is too large, or as soon as a streamed body passes the limit.
    `limits` maps a path suffix to its own limit (uploads); the rest get `default`.

    FastAPI's own `max_body_size` is not used: whatever the app answers, it replaces the answer
    to a body declared too large with a plain-text 413, outside the error envelope."""

    def __init__(self, app: ASGIApp, *, default: int, limits: dict[str, int]) -> None:
        self.app = app
        self.default = default
        self.limits = limits

    def limit_for(self, path: str) -> int:
        for suffix, limit in self.limits.items():
            if path.endswith(suffix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        # For the 413 of a body that passes the limit only while streaming (error_handlers).
        scope.setdefault("state", {})[BODY_LIMIT_STATE] = limit
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            request_id = scope.get("state", {}).get("request_id")
            response = error_response(
                request_id,
                413,
                "payload_too_large",
                "The request body is too large",
                {"max_bytes": limit},
            )
            await response(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise StarletteHTTPException(413, "The request body is too large")
            return message

        await self.app(scope, counting_receive, send)
