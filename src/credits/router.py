import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from src.auth.dependencies import CurrentAdmin, CurrentUser, CurrentUserRow
from src.credits import service as credits_service
from src.credits.schemas import (
    AdminGrantCreate,
    AdminGrantRead,
    Balance,
    CreditTransactionRead,
)
from src.dependencies import DbSession
from src.error_responses import responses
from src.idempotency import mark_replayed
from src.pagination import Page, Pagination

router = APIRouter(prefix="/credits", tags=["credits"], responses=responses(401))
admin_router = APIRouter(prefix="/admin/credits", tags=["admin"], responses=responses(401, 403))


@router.get("/balance", response_model=Balance)
async def read_balance(user: CurrentUserRow) -> Balance:
    """The current credit balance (never negative)."""
    return Balance(balance=user.credits_balance)


@router.get("/transactions", response_model=Page[CreditTransactionRead])
async def list_transactions(
    user: CurrentUser, session: DbSession, page: Pagination
) -> Page[CreditTransactionRead]:
    """The credit ledger, newest first: every change of the balance with the balance after it.
    Pass `next_cursor` back as `cursor` for the next page; it is null on the last page."""
    rows, next_cursor = await credits_service.ledger_page(session, user.id, page)
    return Page(
        items=[CreditTransactionRead.model_validate(row) for row in rows],
        next_cursor=next_cursor,
    )


@admin_router.post(
    "/grants",
    status_code=status.HTTP_201_CREATED,
    response_model=AdminGrantRead,
    responses=responses(404, 409, 422, 503),
)
async def grant_credits(
    data: AdminGrantCreate,
    admin: CurrentAdmin,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=150)] = None,
) -> AdminGrantRead:
    """Give credits to a user (admins only). With an idempotency key (body or
    `Idempotency-Key` header), a replay returns the first grant (201 again, with
    `Idempotent-Replayed: true`)."""
    recipient_id, applied = await credits_service.admin_grant(
        admin.id,
        user_id=data.user_id,
        email=data.email,
        amount=data.amount,
        reason=data.reason,
        idempotency_key=data.idempotency_key or idempotency_key or uuid.uuid4().hex,
    )
    if applied.replayed:
        mark_replayed(response)
    return AdminGrantRead(
        user_id=recipient_id,
        transaction=CreditTransactionRead.model_validate(applied.transaction),
    )
