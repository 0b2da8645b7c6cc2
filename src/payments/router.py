import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, status
from sqlalchemy import Row

from src.auth.dependencies import CurrentUser, owned_row
from src.config import get_settings
from src.dependencies import DbSession
from src.error_responses import responses
from src.exceptions import (
    PayloadTooLarge,
)
from src.idempotency import mark_replayed
from src.pagination import Page, Pagination
from src.payments import service as payments_service
from src.payments.exceptions import InvalidWebhook, UnknownProvider
from src.payments.models import Payment
from src.payments.providers import get_provider
from src.payments.providers.base import InvalidEvent
from src.payments.schemas import PackageRead, PaymentCreate, PaymentRead, WebhookAck
from src.payments.signing import InvalidSignature
from src.ratelimit import enforce

router = APIRouter(prefix="/payments", tags=["payments"])

OwnedPaymentRow = Annotated[
    Row[Any], Depends(owned_row(Payment, param="payment_id", resource="Payment"))
]
MAX_WEBHOOK_BYTES = 256 * 1024


def to_read(payment: Payment | Row[Any]) -> PaymentRead:
    read = PaymentRead.model_validate(payment)
    if payment.provider == "fake" and payment.status == "pending":
        read.complete_url = payment.checkout_url
    return read


@router.get("/packages", response_model=list[PackageRead])
async def list_packages() -> list[PackageRead]:
    """The credit packages on sale."""
    settings = get_settings()
    return [
        PackageRead(name=name, currency=settings.payments_currency, **package.model_dump())
        for name, package in settings.credit_packages.items()
    ]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentRead,
    responses=responses(401, 409, 422, 429, 503),
)
async def create_payment(
    data: PaymentCreate,
    user: CurrentUser,
    response: Response,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> PaymentRead:
    """Start buying a package: a pending payment and its checkout. Send the buyer to
    `checkout_url`; credits arrive when the provider confirms the payment (webhook).

    Send an `Idempotency-Key` header to make retries safe: the same key and body return the
    same payment (201 again, with `Idempotent-Replayed: true`); the same key with another body
    is a 409.
    429 past `PAYMENTS_PER_MINUTE` checkouts a minute.
    """
    await enforce(f"payments:{user.id}", limit=get_settings().payments_per_minute)
    payment, created = await payments_service.create_payment(user, data.package, idempotency_key)
    if not created:
        mark_replayed(response)
    return to_read(payment)


@router.get("", response_model=Page[PaymentRead], responses=responses(401, 422))
async def list_payments(
    user: CurrentUser, session: DbSession, page: Pagination
) -> Page[PaymentRead]:
    """Your payments, newest first."""
    rows, next_cursor = await payments_service.payments_page(session, user.id, page)
    return Page(items=[to_read(row) for row in rows], next_cursor=next_cursor)


@router.get("/{payment_id}", response_model=PaymentRead, responses=responses(401, 404))
async def read_payment(payment: OwnedPaymentRow) -> PaymentRead:
    """One of your payments (404 for anyone else's)."""
    return to_read(payment)


@router.post(
    "/{payment_id}/fake-complete",
    response_model=PaymentRead,
    responses=responses(401, 404, 503),
)
async def complete_fake_checkout(
    payment_id: uuid.UUID, user: CurrentUser, request: Request
) -> PaymentRead:
    """Fake provider only: pay the checkout. Sends a correctly signed `payment.succeeded`
    webhook to this API's own webhook endpoint, exactly as a provider would."""
    return to_read(await payments_service.complete_fake_checkout(user.id, payment_id, request.app))


@router.post(
    "/webhooks/{provider}",
    response_model=WebhookAck,
    responses=responses(400, 404, 413, 503),
)
async def receive_webhook(provider: str, request: Request, response: Response) -> WebhookAck:
    """For the payment provider. The signature is checked before anything is written (400
    when it is missing, wrong or older than 300 s). Each event is applied once: a repeat
    answers 200 again with `Idempotent-Replayed: true`."""
    try:
        handler = get_provider(provider)
    except LookupError as exc:
        raise UnknownProvider() from exc
    payload = await request.body()
    if len(payload) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge(details={"max_bytes": MAX_WEBHOOK_BYTES})
    try:
        event = handler.parse_webhook(payload, request.headers)
    except (InvalidSignature, InvalidEvent) as exc:
        raise InvalidWebhook(details={"reason": str(exc)}) from exc
    outcome, duplicate = await payments_service.handle_event(handler.name, event)
    if duplicate:
        mark_replayed(response)
    return WebhookAck(outcome=outcome)
