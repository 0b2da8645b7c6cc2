import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class EventKind(StrEnum):
    SUCCEEDED = "succeeded"
    REFUNDED = "refunded"
    IGNORED = "ignored"


@dataclass(frozen=True)
class CheckoutRequest:
    payment_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    package: str
    credits: int
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class Checkout:
    checkout_id: str
    url: str


@dataclass(frozen=True)
class ProviderEvent:
    """A verified webhook event, reduced to what the payment state machine needs."""

    event_id: str
    type: str
    kind: EventKind
    payment_id: uuid.UUID | None = None
    provider_payment_ref: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


class InvalidEvent(Exception):
    """Correctly signed, but not an event we can read."""


class ProviderUnavailable(Exception):
    """The provider could not be reached or refused the request."""


class PaymentProvider(Protocol):
    name: str

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        """Create the hosted checkout. Safe to call again for the same payment: it returns
        the same checkout rather than a second one."""
        ...

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify the signature first (`signing.InvalidSignature`), then read the event
        (`InvalidEvent`)."""
        ...


def parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
