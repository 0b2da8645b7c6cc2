from src.exceptions import ConflictError, InvalidInputError


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
