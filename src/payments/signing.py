"""Webhook signatures in Stripe's scheme, through the Stripe SDK's own `WebhookSignature`:
the header `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the endpoint secret.
The fake provider signs and verifies with it; tests sign Stripe payloads with it."""

import stripe


class InvalidSignature(Exception):
    pass


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    header: str = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), secret, timestamp
    )
    return header


def verify(payload: bytes, header: str | None, secret: str, *, tolerance: int) -> None:
    """Check the header against the payload. Raises `InvalidSignature` for a missing,
    malformed or wrong one, or one signed more than `tolerance` seconds ago."""
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(str(exc)) from exc
