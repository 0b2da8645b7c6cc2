"""Production refuses to start on settings that are only safe on a developer's machine, and
says which setting to change."""

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from src.config import Settings

SECRET = "v" * 32
STRIPE: dict[str, Any] = {
    "payments_provider": "stripe",
    "stripe_secret_key": SecretStr("sk_test_x"),
    "stripe_webhook_secret": SecretStr("whsec_x"),
}


def production(**fields: Any) -> Settings:
    return Settings(environment="production", **fields)


def test_the_default_or_a_short_jwt_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        production(**STRIPE)
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        production(jwt_secret=SecretStr("too-short"), **STRIPE)
    assert production(jwt_secret=SecretStr(SECRET), **STRIPE).jwt_secret


def test_fake_payments_are_refused_unless_a_demo_allows_them() -> None:
    with pytest.raises(ValidationError, match="PAYMENTS_PROVIDER=stripe"):
        production(jwt_secret=SecretStr(SECRET), payments_provider="fake")
    with pytest.raises(ValidationError, match="FAKE_WEBHOOK_SECRET"):
        production(jwt_secret=SecretStr(SECRET), payments_provider="fake", allow_fake_payments=True)
    demo = production(
        jwt_secret=SecretStr(SECRET),
        payments_provider="fake",
        allow_fake_payments=True,
        fake_webhook_secret=SecretStr("whsec_demo_only_" + "x" * 16),
    )
    assert demo.payments_provider == "fake"


def test_stripe_needs_its_keys() -> None:
    with pytest.raises(ValidationError, match="STRIPE_SECRET_KEY"):
        production(jwt_secret=SecretStr(SECRET), payments_provider="stripe")


def test_development_and_tests_keep_their_defaults() -> None:
    for environment in ("development", "test"):
        settings = Settings(environment=environment, payments_provider="fake")
        assert settings.payments_provider == "fake"
