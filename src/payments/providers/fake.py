"""An offline provider with the same shape as a real one: its checkout URL is our own
`POST /api/v1/payments/{id}/fake-complete`, which emits a correctly signed webhook."""

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from src.config import Settings
from src.payments import signing
from src.payments.providers.base import (
    Checkout,
    CheckoutRequest,
    EventKind,
    InvalidEvent,
    ProviderEvent,
    parse_uuid,
)

SIGNATURE_HEADER = "Chatsight-Signature"
EVENT_TYPES = {"payment.succeeded": EventKind.SUCCEEDED, "payment.refunded": EventKind.REFUNDED}


class FakeProvider:
    name = "fake"

    def __init__(self, settings: Settings) -> None:
        self.secret = settings.fake_webhook_secret.get_secret_value()
        self.tolerance = settings.webhook_tolerance_seconds
        self.base_url = settings.public_base_url.rstrip("/")

    def complete_url(self, payment_id: uuid.UUID) -> str:
        return f"{self.base_url}/api/v1/payments/{payment_id}/fake-complete"

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        return Checkout(
            checkout_id=f"fake_cs_{request.payment_id.hex}",
            url=self.complete_url(request.payment_id),
        )

    def signed_event(
        self,
        event_type: str,
        payment_id: uuid.UUID,
        *,
        event_id: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook body and its signature header, as the provider would send them."""
        body: dict[str, Any] = {
            "id": event_id or f"evt_fake_{uuid.uuid4().hex}",
            "type": event_type,
            "created": int(time.time()),
            "data": {"payment_id": str(payment_id)},
        }
        payload = json.dumps(body, separators=(",", ":")).encode()
        return payload, {SIGNATURE_HEADER: signing.sign(payload, self.secret, timestamp)}

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        signing.verify(
            payload, headers.get(SIGNATURE_HEADER.lower()), self.secret, tolerance=self.tolerance
        )
        try:
            body = json.loads(payload)
            event_id, event_type = str(body["id"]), str(body["type"])
            data = body.get("data") or {}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidEvent("not a fake-provider event") from exc
        return ProviderEvent(
            event_id=event_id,
            type=event_type,
            kind=EVENT_TYPES.get(event_type, EventKind.IGNORED),
            payment_id=parse_uuid(data.get("payment_id")),
            provider_payment_ref=f"fake_pay_{data.get('payment_id')}",
            payload=body,
        )
