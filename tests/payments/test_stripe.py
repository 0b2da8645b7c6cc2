"""The Stripe provider with no call leaving the machine: webhooks signed with a test secret in
the documented `t=...,v1=...` scheme, and the SDK's checkout call answered by a local stub."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from src.config import Settings
from src.credits import service as credits_service
from src.credits.models import CreditKind
from src.database import SessionLocal
from src.payments import service as payments_service
from src.payments.models import Payment
from src.payments.providers.base import CheckoutRequest, EventKind
from src.payments.providers.stripe import StripeProvider
from src.payments.signing import InvalidSignature, sign
from src.users.models import User
from tests.factories import unique_email

SECRET = "whsec_test_secret"


def stripe_settings(**overrides: Any) -> Settings:
    return Settings(
        environment="test",
        payments_provider="stripe",
        stripe_secret_key="sk_test_local",  # type: ignore[arg-type]
        stripe_webhook_secret=SECRET,  # type: ignore[arg-type]
        **overrides,
    )


def stripe_event(event_type: str, obj: dict[str, Any]) -> bytes:
    body = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
    }
    return json.dumps(body).encode()


def completed(payment_id: uuid.UUID, intent: str) -> bytes:
    return stripe_event(
        "checkout.session.completed",
        {
            "id": "cs_test_1",
            "object": "checkout.session",
            "payment_status": "paid",
            "client_reference_id": str(payment_id),
            "payment_intent": intent,
        },
    )


def refunded(intent: str) -> bytes:
    return stripe_event(
        "charge.refunded",
        {
            "id": "ch_test_1",
            "object": "charge",
            "refunded": True,
            "payment_intent": intent,
            "amount_refunded": 500,
        },
    )


def test_signed_events_are_read() -> None:
    provider = StripeProvider(stripe_settings())
    payment_id = uuid.uuid4()
    payload = completed(payment_id, "pi_1")
    event = provider.parse_webhook(payload, {"stripe-signature": sign(payload, SECRET)})
    assert (event.kind, event.payment_id, event.provider_payment_ref) == (
        EventKind.SUCCEEDED,
        payment_id,
        "pi_1",
    )
    payload = refunded("pi_1")
    event = provider.parse_webhook(payload, {"stripe-signature": sign(payload, SECRET)})
    assert (event.kind, event.payment_id, event.provider_payment_ref) == (
        EventKind.REFUNDED,
        None,
        "pi_1",
    )
    payload = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    event = provider.parse_webhook(payload, {"stripe-signature": sign(payload, SECRET)})
    assert event.kind == EventKind.IGNORED


@pytest.mark.parametrize("case", ["stale", "tampered", "wrong-secret", "missing"])
def test_bad_signatures_are_refused(case: str) -> None:
    provider = StripeProvider(stripe_settings())
    payload = completed(uuid.uuid4(), "pi_1")
    header = {
        "stale": sign(payload, SECRET, int(time.time()) - 301),
        "tampered": sign(payload, SECRET),
        "wrong-secret": sign(payload, "whsec_other"),
        "missing": "",
    }[case]
    body = payload.replace(b"paid", b"unpaid") if case == "tampered" else payload
    with pytest.raises(InvalidSignature):
        provider.parse_webhook(body, {"stripe-signature": header})


@pytest.fixture
async def stub_stripe() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server answering the one Stripe call we make."""
    seen: list[dict[str, Any]] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        request_line, *header_lines = head.strip().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        seen.append({"line": request_line, "headers": headers, "form": parse_qs(body.decode())})
        reply = json.dumps(
            {
                "id": "cs_test_stub",
                "object": "checkout.session",
                "url": "https://checkout.example/cs_test_stub",
            }
        ).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(reply)}\r\nConnection: close\r\n\r\n".encode()
            + reply
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", seen


async def test_checkout_session_is_created_through_the_sdk(
    stub_stripe: tuple[str, list[dict[str, Any]]],
) -> None:
    base, seen = stub_stripe
    provider = StripeProvider(stripe_settings(stripe_api_base=base))
    payment_id = uuid.uuid4()
    checkout = await provider.create_checkout(
        CheckoutRequest(
            payment_id=payment_id,
            user_id=uuid.uuid4(),
            email="a@example.com",
            package="small",
            credits=50,
            amount_cents=500,
            currency="eur",
        )
    )
    assert (checkout.checkout_id, checkout.url) == (
        "cs_test_stub",
        "https://checkout.example/cs_test_stub",
    )
    [call] = seen
    assert call["line"].startswith("POST /v1/checkout/sessions ")
    assert call["headers"]["idempotency-key"] == f"checkout-{payment_id}"
    assert call["headers"]["authorization"] == "Bearer sk_test_local"
    assert call["form"]["client_reference_id"] == [str(payment_id)]
    assert call["form"]["line_items[0][price_data][unit_amount]"] == ["500"]


async def stripe_payment() -> tuple[uuid.UUID, uuid.UUID]:
    async with SessionLocal() as session:
        user = User(email=unique_email("stripe"), password_hash="x")
        session.add(user)
        await session.flush()
        payment = Payment(
            user_id=user.id,
            package="small",
            credits=50,
            amount_cents=500,
            currency="eur",
            provider="stripe",
            status="pending",
        )
        session.add(payment)
        await session.commit()
        return user.id, payment.id


async def state(user_id: uuid.UUID, payment_id: uuid.UUID) -> tuple[int, str, int]:
    async with SessionLocal() as session:
        payment = await session.get(Payment, payment_id)
        balance = await session.scalar(select(User.credits_balance).where(User.id == user_id))
    assert payment is not None
    return int(balance or 0), payment.status, payment.credits_reversed


async def test_a_refund_that_arrives_first_is_applied_when_the_success_comes() -> None:
    """Stripe's refund names only the PaymentIntent, which we learn from the success event:
    the refund waits unmatched in the inbox and is applied right after the success."""
    provider = StripeProvider(stripe_settings())
    user_id, payment_id = await stripe_payment()
    await credits_service.run(
        lambda s: credits_service.grant(
            s, user_id, 5, kind=CreditKind.ADMIN_GRANT, idempotency_key="seed"
        )
    )
    early = refunded("pi_early")
    event = provider.parse_webhook(early, {"stripe-signature": sign(early, SECRET)})
    assert await payments_service.handle_event("stripe", event) == ("unmatched", False)

    success = completed(payment_id, "pi_early")
    event = provider.parse_webhook(success, {"stripe-signature": sign(success, SECRET)})
    assert await payments_service.handle_event("stripe", event) == ("credits_granted", False)
    assert await state(user_id, payment_id) == (5, "refunded", 50)
