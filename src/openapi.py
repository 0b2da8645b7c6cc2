"""The OpenAPI document as a client generator reads it.

FastAPI's own document is completed here, once, when it is first asked for:

- operation ids are the handlers' names (`import_chat`, `list_messages`): short and stable;
- tags come with a description each;
- every error an operation can answer is the one envelope, with an example: the routers
  declare what their rules answer (`responses(404, 409)`), and here every operation gets
  500, every operation with parameters or a body 422 (FastAPI's `{detail}` 422 is replaced:
  the app never answers it), and every operation that reads the database 503;
- the envelope's `code` is an enum of every code the app answers.

`tests/app/test_openapi.py` checks the document; the test session also checks that no
request of the whole suite got an error status its operation does not document
(`tests/conftest.py`).
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from src.error_handlers import HTTP_CODES
from src.exceptions import ChatsightError

TAGS: list[dict[str, str]] = [
    {"name": "health", "description": "Probes and metrics for operators and orchestrators."},
    {"name": "auth", "description": "Accounts, sign-in, token refresh and sign-out."},
    {"name": "users", "description": "The signed-in account."},
    {"name": "credits", "description": "The balance and its ledger."},
    {"name": "payments", "description": "Buying credit packages; provider webhooks."},
    {
        "name": "chats",
        "description": "Conversations: imported exports, merges, messages posted by a frontend.",
    },
    {"name": "categories", "description": "The insight catalogue: categories and their types."},
    {"name": "insights", "description": "Insights about a chat, generated in the background."},
    {
        "name": "rag",
        "description": "Questions about your chats, answered from their messages with citations.",
    },
    {"name": "admin", "description": "Administration (admins only)."},
    {"name": "diagnostics", "description": "End-to-end checks of the background workers."},
]

#: The code an example envelope shows for each status.
_EXAMPLE_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    402: "insufficient_credits",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}
_DESCRIPTIONS = {
    422: "Invalid input",
    500: "Internal error (no internals in the body)",
    503: "Busy or a dependency is down; retry after `Retry-After` seconds",
}
#: Operations that read no database: no 503 for them.
_NO_DATABASE = {"liveness", "metrics", "list_packages"}
_ENVELOPE_REF = "#/components/schemas/ErrorEnvelope"


def operation_id(route: APIRoute) -> str:
    return route.name


def error_codes() -> list[str]:
    """Every code the envelope can carry: the exception classes' and the HTTP statuses'."""
    codes = set(HTTP_CODES.values()) | {"http_error"}
    pending: list[type[ChatsightError]] = [ChatsightError]
    while pending:
        cls = pending.pop()
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    return sorted(codes)


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=TAGS,
            )
            _complete(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(schema: dict[str, Any]) -> None:
    for operations in schema["paths"].values():
        for operation in operations.values():
            responses: dict[str, Any] = operation["responses"]
            takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
            statuses = {int(status) for status in responses if int(status) >= 400}
            if takes_input:
                statuses.add(422)
            statuses.add(500)
            if operation["operationId"] not in _NO_DATABASE:
                statuses.add(503)
            for status in sorted(statuses):
                previous = responses.get(str(status), {})
                responses[str(status)] = {
                    "description": _DESCRIPTIONS.get(status)
                    or previous.get("description")
                    or "Error",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": _ENVELOPE_REF},
                            "example": _example(status),
                        }
                    },
                    **({"headers": previous["headers"]} if "headers" in previous else {}),
                }
            operation["responses"] = dict(sorted(responses.items()))
    components = schema["components"]["schemas"]
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    # Schemas given whole to a response (the answer's Server-Sent Events) bring their own
    # definitions: they join the components, where their references point.
    for operations in schema["paths"].values():
        for operation in operations.values():
            for response in operation["responses"].values():
                for content in response.get("content", {}).values():
                    for name, definition in content.get("schema", {}).pop("$defs", {}).items():
                        components.setdefault(name, definition)
    components["ErrorBody"]["properties"]["code"] = {
        "title": "Code",
        "type": "string",
        "enum": error_codes(),
        "description": "Stable and machine-readable: what went wrong.",
    }


def _example(status: int) -> dict[str, Any]:
    return {
        "error": {
            "code": _EXAMPLE_CODES.get(status, "http_error"),
            "message": "What went wrong, for a person",
            "request_id": "5f0c6a3e9b2d4f7a8c1e0b9d2a4c6e8f",
            "details": None,
        }
    }
