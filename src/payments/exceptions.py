from src.exceptions import (
    BadRequestError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ServiceUnavailableError,
)


class UnknownPackage(InvalidInputError):
    code = "unknown_package"

    def __init__(self, package: str, known: list[str]) -> None:
        super().__init__(f"Unknown credit package '{package}'", details={"packages": known})


class IdempotencyKeyMismatch(ConflictError):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was already used with a different request body"


class InvalidWebhook(BadRequestError):
    code = "invalid_webhook"
    message = "The webhook signature or payload is not valid"


class UnknownProvider(NotFoundError):
    def __init__(self) -> None:
        super().__init__("Payment provider")


class PaymentProviderUnavailable(ServiceUnavailableError):
    code = "payment_provider_unavailable"
    message = "The payment provider is unavailable; retry with the same Idempotency-Key"
