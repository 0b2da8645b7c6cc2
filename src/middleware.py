"""Plain ASGI middleware (not `BaseHTTPMiddleware`, so contextvars flow into the endpoint)."""

import re
import time
import uuid

import structlog
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from src.error_handlers import error_response
from src.logging import get_logger
from src.metrics import HTTP_LATENCY, HTTP_METHODS, HTTP_REQUESTS

log = get_logger("chatsight.request")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


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

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                log.exception("request.unhandled_error", path=scope.get("path"))
                if started:
                    raise
                response = error_response(
                    request_id, 500, "internal_error", "Internal server error"
                )
                await response(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - begun
                route = route_template(scope)
                method = scope.get("method", "")
                label = method if method in HTTP_METHODS else "other"
                HTTP_REQUESTS.labels(method=label, route=route, status=str(status)).inc()
                HTTP_LATENCY.labels(method=label, route=route).observe(elapsed)
                log.info(
                    "request.completed",
                    method=method,
                    path=scope.get("path"),
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def route_template(scope: Scope) -> str:
    """The matched route's own template (`/chats/{chat_id}`: FastAPI leaves out the prefix
    its router was included with), so that metrics have one series per route, never one per
    path a client makes up; "unmatched" for unknown paths."""
    template = getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) else "unmatched"


class BodyLimitMiddleware:
    """Refuses request bodies over a size limit with 413 in the envelope: at once when the
    declared `Content-Length` is too large, or as soon as a streamed body passes the limit.
    `limits` maps a path suffix to its own limit (uploads); the rest get `default`."""

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
