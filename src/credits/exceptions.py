from src.exceptions import ChatsightError, ConflictError


class InsufficientCredits(ChatsightError):
    status_code = 402
    code = "insufficient_credits"
    message = "Not enough credits"

    def __init__(self, *, balance: int, required: int) -> None:
        super().__init__(
            f"This needs {required} credits; the balance is {balance}",
            details={"balance": balance, "required": required},
        )


class IdempotencyKeyReused(ConflictError):
    code = "idempotency_key_reused"
    message = "This idempotency key was already used for a different operation"
