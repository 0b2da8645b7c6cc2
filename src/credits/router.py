import uuid
from typing import Annotated

from fastapi import APIRouter, Header, status

from src.auth.dependencies import CurrentAdmin, CurrentUser, CurrentUserRow, DbSession
from src.credits import service as credits_service
from src.credits.models import CreditKind
from src.credits.repository import CreditRepository
from src.credits.schemas import (
    AdminGrantCreate,
    AdminGrantRead,
    Balance,
    CreditTransactionRead,
)
from src.error_responses import responses
from src.exceptions import NotFoundError
from src.logging import get_logger
from src.pagination import Page, Pagination
from src.users.repository import UserRepository

log = get_logger(__name__)

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
    rows, next_cursor = await CreditRepository(session).page(user.id, page)
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
    session: DbSession,
    idempotency_key: Annotated[str | None, Header(max_length=150)] = None,
) -> AdminGrantRead:
    """Give credits to a user (admins only). With an idempotency key (body or
    `Idempotency-Key` header), a replay returns the first grant with `replayed: true`."""
    users = UserRepository(session)
    recipient = (
        await users.get(data.user_id)
        if data.user_id
        else await users.get_by_email(data.email or "")
    )
    if recipient is None:
        raise NotFoundError("User")
    key = data.idempotency_key or idempotency_key or uuid.uuid4().hex
    recipient_id = recipient.id
    applied = await credits_service.run(
        lambda s: credits_service.grant(
            s,
            recipient_id,
            data.amount,
            kind=CreditKind.ADMIN_GRANT,
            idempotency_key=f"admin:{key}",
            # No reference: the user's ledger must not name the admin (the log does).
        )
    )
    log.info(
        "credits.admin_grant",
        admin_id=str(admin.id),
        user_id=str(recipient_id),
        amount=data.amount,
        reason=data.reason,
        replayed=applied.replayed,
    )
    return AdminGrantRead(
        user_id=recipient_id,
        transaction=CreditTransactionRead.model_validate(applied.transaction),
        replayed=applied.replayed,
    )
