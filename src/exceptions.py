"""The application's exception hierarchy: services raise these, `error_handlers` renders them.

Each class carries its HTTP status and a stable machine-readable `code` for the envelope
`{"error": {"code", "message", "request_id", "details"}}`.
"""

from typing import Any


class ChatsightError(Exception):
    status_code = 500
    code = "internal_error"
    message = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequestError(ChatsightError):
    status_code = 400
    code = "bad_request"
    message = "The request could not be processed"


class AuthenticationError(ChatsightError):
    status_code = 401
    code = "not_authenticated"
    message = "Not authenticated"

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        super().__init__(message, details=details, headers={"WWW-Authenticate": "Bearer"})


class PermissionDeniedError(ChatsightError):
    status_code = 403
    code = "forbidden"
    message = "You are not allowed to do this"


class NotFoundError(ChatsightError):
    """Missing, deleted, or owned by someone else: all three look the same to the caller."""

    status_code = 404
    code = "not_found"
    message = "Not found"

    def __init__(self, resource: str = "Resource", *, details: Any = None) -> None:
        super().__init__(f"{resource} not found", details=details)


class ConflictError(ChatsightError):
    status_code = 409
    code = "conflict"
    message = "The request conflicts with the current state"


class PayloadTooLarge(ChatsightError):
    status_code = 413
    code = "payload_too_large"
    message = "The request body is too large"


class InvalidInputError(ChatsightError):
    status_code = 422
    code = "invalid_input"
    message = "The input is not valid"


class RateLimited(ChatsightError):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests; retry later"

    def __init__(self, *, retry_after: int, limit: int, window_seconds: int = 60) -> None:
        per = "minute" if window_seconds == 60 else f"{window_seconds} s"
        super().__init__(
            f"At most {limit} per {per}; retry in {retry_after} s",
            details={"limit": limit, "retry_after": retry_after},
            headers={
                "Retry-After": str(retry_after),
                # The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers).
                "RateLimit-Limit": str(limit),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(retry_after),
                "RateLimit-Policy": f"{limit};w={window_seconds}",
            },
        )


class LockTimeoutException(ChatsightError):
    """A row stayed locked by another transaction through every retry: ask to come back."""

    status_code = 503
    code = "lock_timeout"
    message = "The resource is busy; retry shortly"

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class TransactionConflictError(ChatsightError):
    """Serialization failures or deadlocks outlasted every retry of a unit of work."""

    status_code = 503
    code = "transaction_conflict"
    message = "Too many concurrent changes; retry shortly"

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class AsyncDatabaseException(ChatsightError):
    """A database operation failed in a way the caller cannot fix. Detail only in development."""

    status_code = 500
    code = "database_error"
    message = "A database error occurred"


class ServiceUnavailableError(ChatsightError):
    status_code = 503
    code = "service_unavailable"
    message = "A dependency is unavailable; retry shortly"

    def __init__(
        self, message: str | None = None, *, details: Any = None, retry_after: int = 5
    ) -> None:
        super().__init__(message, details=details, headers={"Retry-After": str(retry_after)})


class NotReady(ServiceUnavailableError):
    """A dependency of the service (the database, the broker) does not answer: `details`
    says which."""

    code = "not_ready"
    message = "A dependency is unreachable"
