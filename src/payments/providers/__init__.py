"""Payment providers behind one interface; the configured one is `get_provider()`."""

from src.config import get_settings
from src.payments.providers.base import PaymentProvider
from src.payments.providers.fake import FakeProvider
from src.payments.providers.stripe import StripeProvider


def get_provider(name: str | None = None) -> PaymentProvider:
    """The configured provider; any other name raises LookupError. Only the configured
    provider's webhooks are accepted: a fake webhook must never grant credits where Stripe
    is in use."""
    settings = get_settings()
    chosen = name or settings.payments_provider
    if chosen != settings.payments_provider:
        raise LookupError(chosen)
    if chosen == "stripe":
        return StripeProvider(settings)
    return FakeProvider(settings)


__all__ = ["PaymentProvider", "get_provider"]
