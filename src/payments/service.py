"""Buying credits: checkouts, and webhook events applied exactly once, in any order.

A payment grants its credits once (ledger key `purchase:<payment id>`) however many times
and in whatever order its events arrive: every event lands in the inbox (unique on provider
and event id) and is applied under the payment's row lock, in the same transaction as its
ledger rows. A refund before the success ends in the same place as a success then a refund.
"""

import hashlib
import json
import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp

from src.config import get_settings
from src.credits import service as credits_service
from src.credits.models import CreditKind
from src.database import get_async_db_transaction
from src.database_utils import execute_in_transaction, upsert_or_create
from src.exceptions import ChatsightError, NotFoundError, ServiceUnavailableError
from src.logging import get_logger
from src.pagination import PageParams
from src.payments.exceptions import (
    IdempotencyKeyMismatch,
    PaymentProviderUnavailable,
    UnknownPackage,
    UnknownProvider,
)
from src.payments.models import Payment, PaymentStatus
from src.payments.providers import get_provider
from src.payments.providers.base import (
    CheckoutRequest,
    EventKind,
    ProviderEvent,
    ProviderUnavailable,
)
from src.payments.providers.fake import FakeProvider
from src.payments.repository import PaymentRepository
from src.users.models import User

log = get_logger(__name__)


def fingerprint(**request: object) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


async def create_payment(
    user: User, package_name: str, idempotency_key: str | None
) -> tuple[Payment, bool]:
    """A pending payment and its checkout: `(payment, created)`.

    With an idempotency key, the same key and body return the same payment (`created` False);
    the same key with another body is `IdempotencyKeyMismatch` (409). The provider is called
    with no database connection held, and safely again for a payment whose checkout is
    missing (a provider outage on the first try).
    """
    settings = get_settings()
    package = settings.credit_packages.get(package_name)
    if package is None:
        raise UnknownPackage(package_name, sorted(settings.credit_packages))
    provider = get_provider()
    request_fingerprint = fingerprint(package=package_name)
    values = {
        "package": package_name,
        "credits": package.credits,
        "amount_cents": package.amount_cents,
        "currency": settings.payments_currency,
        "provider": provider.name,
        "status": PaymentStatus.PENDING.value,
        "request_fingerprint": request_fingerprint,
    }
    user_id, email = user.id, user.email

    async def stage(session: AsyncSession) -> tuple[Payment, bool]:
        if idempotency_key is None:
            return await PaymentRepository(session).add(Payment(user_id=user_id, **values)), True
        payment, created = await upsert_or_create(
            session,
            Payment,
            {"user_id": user_id, "idempotency_key": idempotency_key},
            {**values, "id": uuid.uuid4()},
        )
        if payment.request_fingerprint != request_fingerprint:
            raise IdempotencyKeyMismatch(details={"idempotency_key": idempotency_key})
        return payment, created

    payment, created = await execute_in_transaction(stage)
    if payment.checkout_id is not None or payment.status != PaymentStatus.PENDING:
        return payment, created

    try:
        checkout = await provider.create_checkout(
            CheckoutRequest(
                payment_id=payment.id,
                user_id=user_id,
                email=email,
                package=payment.package,
                credits=payment.credits,
                amount_cents=payment.amount_cents,
                currency=payment.currency,
            )
        )
    except ProviderUnavailable as exc:
        log.warning("payment.checkout_failed", payment_id=str(payment.id), error=str(exc))
        if idempotency_key is None:
            # Nothing can resume this payment: close it rather than leave it pending forever.
            await execute_in_transaction(lambda s: _mark_failed(s, payment.id))
        raise PaymentProviderUnavailable() from exc

    async def attach(session: AsyncSession) -> Payment:
        stored = await PaymentRepository(session).lock(
            payment.provider, payment_id=payment.id, wait_ms=settings.lock_wait_ms
        )
        assert stored is not None
        if stored.checkout_id is None:
            stored.checkout_id = checkout.checkout_id
            stored.checkout_url = checkout.url
            await session.flush()
        return stored

    payment = await execute_in_transaction(attach)
    log.info("payment.created", payment_id=str(payment.id), package=package_name)
    return payment, created


async def get_payment(payment_id: uuid.UUID) -> Payment:
    """The payment as committed now (a fresh transaction, not the caller's snapshot)."""
    async with get_async_db_transaction() as session:
        payment = await PaymentRepository(session).get(payment_id)
    if payment is None:
        raise NotFoundError("Payment")
    return payment


async def _mark_failed(session: AsyncSession, payment_id: uuid.UUID) -> None:
    payment = await PaymentRepository(session).get(payment_id)
    if payment is not None and payment.checkout_id is None:
        payment.status = PaymentStatus.FAILED.value
        await session.flush()


async def handle_event(provider_name: str, event: ProviderEvent) -> tuple[str, bool]:
    """Record a verified event in the inbox and apply it once: `(outcome, duplicate)`."""

    async def unit(session: AsyncSession) -> tuple[str, bool]:
        repository = PaymentRepository(session)
        row_id = await repository.record_event(provider_name, event)
        if row_id is None:
            return "duplicate", True
        if event.kind == EventKind.IGNORED:
            await repository.finish_event(row_id, "ignored", processed=True)
            return "ignored", False
        payment = await repository.lock(
            provider_name,
            payment_id=event.payment_id,
            provider_payment_ref=event.provider_payment_ref,
            wait_ms=get_settings().lock_wait_ms,
        )
        if payment is None:
            # Not ours yet (a refund that names only the provider's reference, before the
            # success that teaches us that reference): kept unprocessed, replayed on success.
            await repository.finish_event(row_id, "unmatched", processed=False)
            return "unmatched", False
        outcome = await _apply(session, payment, event.kind, event.provider_payment_ref)
        await repository.finish_event(row_id, outcome, processed=True)
        if event.kind == EventKind.SUCCEEDED and payment.provider_payment_ref:
            for waiting in await repository.unmatched_events(
                provider_name, payment.provider_payment_ref
            ):
                late = await _apply(session, payment, EventKind.REFUNDED, None)
                await repository.finish_event(waiting.id, late, processed=True)
        return outcome, False

    outcome, duplicate = await credits_service.run(unit)
    log.info(
        "payment.event",
        provider=provider_name,
        event_id=event.event_id,
        type=event.type,
        outcome=outcome,
        duplicate=duplicate,
    )
    return outcome, duplicate


async def _apply(
    session: AsyncSession, payment: Payment, kind: EventKind, provider_ref: str | None
) -> str:
    """The payment's state machine; the caller holds its row lock."""
    now = datetime.now(UTC)
    reference = credits_service.Reference("payment", str(payment.id))
    if kind == EventKind.SUCCEEDED:
        if payment.paid_at is not None:
            return "already_succeeded"
        payment.paid_at = now
        payment.provider_payment_ref = payment.provider_payment_ref or provider_ref
        if payment.refunded_at is not None:
            await session.flush()
            return "succeeded_after_refund"
        await credits_service.grant(
            session,
            payment.user_id,
            payment.credits,
            kind=CreditKind.PURCHASE,
            idempotency_key=f"purchase:{payment.id}",
            reference=reference,
        )
        payment.credits_granted = payment.credits
        payment.status = PaymentStatus.SUCCEEDED.value
        await session.flush()
        return "credits_granted"

    if payment.refunded_at is not None:
        return "already_refunded"
    payment.refunded_at = now
    payment.status = PaymentStatus.REFUNDED.value
    if payment.credits_granted:
        taken = await credits_service.take_back(
            session,
            payment.user_id,
            payment.credits_granted,
            idempotency_key=f"purchase_refund:{payment.id}",
            reference=reference,
        )
        payment.credits_reversed = -taken.transaction.amount if taken else 0
        payment.credits_unrecovered = payment.credits_granted - payment.credits_reversed
    await session.flush()
    return "refunded"


async def complete_fake_checkout(
    user_id: uuid.UUID, payment_id: uuid.UUID, app: ASGIApp
) -> Payment:
    """Pay a fake checkout as its provider would: a signed `payment.succeeded` webhook, sent to
    `app`'s own webhook endpoint. 404 for a payment that is not the user's; 404
    `unknown_provider` unless both the payment and the configured provider are the fake one;
    503 when the database was away for the webhook (it changed nothing: pay again shortly)."""
    # Read in its own short transaction: nothing here holds a connection while the webhook
    # runs its units of work.
    payment = await get_payment(payment_id)
    if payment.user_id != user_id:
        raise NotFoundError("Payment")
    provider = get_provider()
    if not isinstance(provider, FakeProvider) or payment.provider != "fake":
        raise UnknownProvider()
    payload, headers = provider.signed_event("payment.succeeded", payment.id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://chatsight.internal") as http:
        delivered = await http.post(
            "/api/v1/payments/webhooks/fake",
            content=payload,
            headers={**headers, "Content-Type": "application/json"},
        )
    if delivered.status_code == 503:
        raise ServiceUnavailableError("The payment could not be recorded; retry shortly")
    if delivered.status_code != 200:
        raise ChatsightError("The fake webhook was not accepted")
    # Read it back in a new transaction: the webhook's writes are committed by now.
    return await get_payment(payment.id)


async def payments_page(
    session: AsyncSession, user_id: uuid.UUID, params: PageParams
) -> tuple[list[Payment], str | None]:
    """A page of the user's payments, newest first."""
    return await PaymentRepository(session).page(user_id, params)
