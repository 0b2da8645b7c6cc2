"""Stripe: Checkout Sessions through the official SDK, webhooks verified by
`Webhook.construct_event` (300 s tolerance by default)."""

from collections.abc import Mapping
from typing import Any

import stripe

from src.config import Settings
from src.payments import signing
from src.payments.providers.base import (
    Checkout,
    CheckoutRequest,
    EventKind,
    InvalidEvent,
    ProviderEvent,
    ProviderUnavailable,
    parse_uuid,
)

SUCCESS_TYPES = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
REFUND_TYPES = {"charge.refunded"}


class StripeProvider:
    name = "stripe"

    def __init__(self, settings: Settings) -> None:
        if settings.stripe_secret_key is None or settings.stripe_webhook_secret is None:
            raise RuntimeError("Stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET")
        self.webhook_secret = settings.stripe_webhook_secret.get_secret_value()
        self.tolerance = settings.webhook_tolerance_seconds
        self.success_url = settings.checkout_success_url
        self.cancel_url = settings.checkout_cancel_url
        addresses: Any = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self.client = stripe.StripeClient(
            settings.stripe_secret_key.get_secret_value(),
            base_addresses=addresses,
            http_client=stripe.HTTPXClient(timeout=20),
            max_network_retries=2,
        )

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        metadata = {"payment_id": str(request.payment_id), "user_id": str(request.user_id)}
        params: Any = {
            "mode": "payment",
            "client_reference_id": str(request.payment_id),
            "customer_email": request.email,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency,
                        "unit_amount": request.amount_cents,
                        "product_data": {"name": f"{request.credits} Chatsight credits"},
                    },
                }
            ],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": self.success_url,
            "cancel_url": self.cancel_url,
        }
        try:
            session = await self.client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": f"checkout-{request.payment_id}"}
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(str(exc)) from exc
        return Checkout(checkout_id=str(session.id), url=str(session.url))

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        try:
            event = stripe.Webhook.construct_event(
                payload, headers.get("stripe-signature"), self.webhook_secret, self.tolerance
            )
        except stripe.SignatureVerificationError as exc:
            raise signing.InvalidSignature(str(exc)) from exc
        except ValueError as exc:
            raise InvalidEvent("not a Stripe event") from exc
        body: dict[str, Any] = event.to_dict()
        event_type = str(body.get("type"))
        obj: dict[str, Any] = (body.get("data") or {}).get("object") or {}
        metadata = obj.get("metadata") or {}
        kind = EventKind.IGNORED
        payment_id = parse_uuid(metadata.get("payment_id"))
        if event_type in SUCCESS_TYPES and obj.get("payment_status") == "paid":
            kind = EventKind.SUCCEEDED
            payment_id = parse_uuid(obj.get("client_reference_id")) or payment_id
        elif event_type in REFUND_TYPES and obj.get("refunded"):
            # Full refunds only: a partial refund is recorded in the inbox and left to support.
            kind = EventKind.REFUNDED
        return ProviderEvent(
            event_id=str(body.get("id")),
            type=event_type,
            kind=kind,
            payment_id=payment_id,
            provider_payment_ref=obj.get("payment_intent"),
            payload=body,
        )
