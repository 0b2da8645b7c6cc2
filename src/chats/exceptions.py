from src.exceptions import ChatsightError, ConflictError, InvalidInputError


class InvalidExport(InvalidInputError):
    code = "invalid_export"
    message = "The file is not a chat export this service can read"


class UnknownTimezone(InvalidInputError):
    code = "unknown_timezone"

    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown time zone '{name}'", details={"timezone": name})


class ChatNotReady(ConflictError):
    code = "chat_not_ready"
    message = "The chat is still importing or its import failed"


class RestoreConflict(ConflictError):
    code = "restore_conflict"
    message = "A live chat already holds this export; delete it before restoring this one"


class RestoreExpired(ConflictError):
    code = "restore_expired"
    message = "The chat was deleted too long ago to be restored"


class ExportTooLarge(ChatsightError):
    status_code = 413
    code = "export_too_large"

    def __init__(self, unpacked: int, limit_mb: int) -> None:
        super().__init__(
            f"The export unpacks to {unpacked} bytes, over the {limit_mb} MB limit (MAX_UPLOAD_MB)",
            details={"unpacked_bytes": unpacked, "limit_mb": limit_mb, "setting": "MAX_UPLOAD_MB"},
        )


class TooManyMessages(ChatsightError):
    status_code = 413
    code = "too_many_messages"

    def __init__(self, found: int, limit: int) -> None:
        super().__init__(
            f"The export holds {found} messages, over the limit of {limit} per import "
            "(MAX_IMPORT_MESSAGES)",
            details={"found": found, "limit": limit, "setting": "MAX_IMPORT_MESSAGES"},
        )


class InvalidMessages(InvalidInputError):
    """A message the service cannot store: which one, what is wrong, and the limit if any."""

    code = "invalid_messages"

    def __init__(self, message: str, *, problem: str, **details: object) -> None:
        super().__init__(message, details={"problem": problem, **details})
