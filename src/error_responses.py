"""OpenAPI descriptions of the error envelope, for `responses=` on routes."""

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str | None
    details: Any = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, invalid or expired token",
    402: "Not enough credits",
    403: "Not allowed",
    404: "Not found, deleted, or not yours",
    409: "Conflicts with the current state",
    413: "Too large",
    422: "Invalid input",
    503: "Busy or a dependency is down; retry after `Retry-After` seconds",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"model": ErrorEnvelope, "description": _DESCRIPTIONS.get(code, "Error")}
        for code in codes
    }
