"""The only code that changes a balance.

Every change locks the user's row, checks the idempotency key, writes the new balance and its
ledger row, all in the caller's transaction: `grant`, `charge`, `refund` and `take_back` take
a session and compose into a larger unit of work (an insight request, a payment webhook).
Run that unit with `execute_in_transaction(fn, isolation_level=ISOLATION_LEVEL)`, or call
`run()` which does exactly that.

Why READ COMMITTED for these units: a user's balance row is hot by nature. Under REPEATABLE
READ every transaction that waited on the lock finds the row changed since its snapshot and
fails with 40001, so N concurrent changes cost O(N^2) attempts (`bench/credits_contention.py`
measures it). At READ COMMITTED the row lock queues them and each statement reads the latest
committed row, so the lock (every change holds it) and `CHECK (credits_balance >= 0)` keep the
balance exact with no retries. The idempotency check happens under the lock, so two callers
with one key cannot both apply.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from src.config import get_settings
from src.credits.exceptions import IdempotencyKeyReused, InsufficientCredits
from src.credits.models import CreditKind, CreditTransaction
from src.credits.repository import CreditRepository
from src.database_utils import execute_in_transaction
from src.exceptions import InvalidInputError, NotFoundError
from src.logging import get_logger
from src.pagination import PageParams
from src.users.repository import UserRepository

log = get_logger(__name__)

T = TypeVar("T")

GRANT_KINDS = {CreditKind.SIGNUP, CreditKind.PURCHASE, CreditKind.ADMIN_GRANT}


@dataclass(frozen=True)
class Reference:
    type: str
    id: str


@dataclass(frozen=True)
class Applied:
    transaction: CreditTransaction
    replayed: bool  # True when the idempotency key had already been applied


def isolation_level() -> str:
    return get_settings().credits_isolation_level


async def run(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run a unit of work that changes balances, at the credits isolation level, retried on
    serialization failures and deadlocks."""
    return await execute_in_transaction(fn, isolation_level=isolation_level())


async def grant(
    session: AsyncSession,
    user_id: uuid.UUID,
    amount: int,
    *,
    kind: CreditKind,
    idempotency_key: str,
    reference: Reference | None = None,
) -> Applied:
    if kind not in GRANT_KINDS:
        raise ValueError(f"{kind} is not a grant")
    return await _apply(session, user_id, _positive(amount), kind, idempotency_key, reference)


async def admin_grant(
    admin_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None,
    email: str | None,
    amount: int,
    reason: str,
    idempotency_key: str,
) -> tuple[uuid.UUID, Applied]:
    """An admin gives credits to a user named by id or email, in one unit of work; the same
    key again returns the first grant (`replayed`). 404 for no such user. The user's ledger
    does not name the admin: this log line does."""

    async def unit(session: AsyncSession) -> tuple[uuid.UUID, Applied]:
        users = UserRepository(session)
        recipient = await users.get(user_id) if user_id else await users.get_by_email(email or "")
        if recipient is None:
            raise NotFoundError("User")
        applied = await grant(
            session,
            recipient.id,
            amount,
            kind=CreditKind.ADMIN_GRANT,
            idempotency_key=f"admin:{idempotency_key}",
        )
        return recipient.id, applied

    recipient_id, applied = await run(unit)
    log.info(
        "credits.admin_grant",
        admin_id=str(admin_id),
        user_id=str(recipient_id),
        amount=amount,
        reason=reason,
        replayed=applied.replayed,
    )
    return recipient_id, applied


async def charge(
    session: AsyncSession,
    user_id: uuid.UUID,
    amount: int,
    *,
    idempotency_key: str,
    reference: Reference | None = None,
    kind: CreditKind = CreditKind.INSIGHT_CHARGE,
) -> Applied:
    """Take `amount` credits; `InsufficientCredits` (402) when the balance is short."""
    return await _apply(session, user_id, -_positive(amount), kind, idempotency_key, reference)


async def refund(
    session: AsyncSession,
    user_id: uuid.UUID,
    amount: int,
    *,
    idempotency_key: str,
    reference: Reference | None = None,
) -> Applied:
    """Give back credits an earlier charge took (an insight that failed for good)."""
    return await _apply(
        session, user_id, _positive(amount), CreditKind.INSIGHT_REFUND, idempotency_key, reference
    )


async def take_back(
    session: AsyncSession,
    user_id: uuid.UUID,
    up_to: int,
    *,
    idempotency_key: str,
    reference: Reference | None = None,
) -> Applied | None:
    """Take back as much of `up_to` as the balance allows (a refunded purchase whose credits
    were partly spent). None when the balance is zero and nothing was taken."""
    repository = CreditRepository(session)
    balance, existing = await _lock(repository, user_id, idempotency_key)
    if existing is not None:
        return Applied(existing, replayed=True)
    amount = min(balance, _positive(up_to))
    if amount == 0:
        return None
    return await _write(
        repository,
        user_id,
        balance,
        -amount,
        CreditKind.PURCHASE_REFUND,
        idempotency_key,
        reference,
    )


async def _apply(
    session: AsyncSession,
    user_id: uuid.UUID,
    amount: int,
    kind: CreditKind,
    idempotency_key: str,
    reference: Reference | None,
) -> Applied:
    """Lock the balance, then (one statement, under the lock, so a concurrent caller with the
    same key has either committed or not started) replay the key or write the change."""
    repository = CreditRepository(session)
    balance = await repository.lock_balance(user_id, wait_ms=get_settings().lock_wait_ms)
    outcome = await repository.apply(
        user_id,
        amount,
        kind=kind.value,
        idempotency_key=idempotency_key,
        reference_type=reference.type if reference else None,
        reference_id=reference.id if reference else None,
    )
    if outcome is None:
        raise InsufficientCredits(balance=balance, required=-amount)
    entry, replayed = outcome
    if replayed:
        if entry.amount != amount or entry.kind != kind:
            raise IdempotencyKeyReused(details={"idempotency_key": idempotency_key})
        return Applied(entry, replayed=True)
    _log_applied(entry)
    return Applied(entry, replayed=False)


async def _lock(
    repository: CreditRepository, user_id: uuid.UUID, idempotency_key: str
) -> tuple[int, CreditTransaction | None]:
    """Lock the balance, then look the key up: under the lock, so a concurrent caller with
    the same key has either committed (found here) or not started."""
    balance = await repository.lock_balance(user_id, wait_ms=get_settings().lock_wait_ms)
    return balance, await repository.get_by_key(user_id, idempotency_key)


async def _write(
    repository: CreditRepository,
    user_id: uuid.UUID,
    balance: int,
    amount: int,
    kind: CreditKind,
    idempotency_key: str,
    reference: Reference | None,
) -> Applied:
    new_balance = balance + amount
    await repository.set_balance(user_id, new_balance)
    entry = await repository.add(
        CreditTransaction(
            user_id=user_id,
            amount=amount,
            balance_after=new_balance,
            kind=kind.value,
            idempotency_key=idempotency_key,
            reference_type=reference.type if reference else None,
            reference_id=reference.id if reference else None,
        )
    )
    _log_applied(entry)
    return Applied(entry, replayed=False)


def _log_applied(entry: CreditTransaction) -> None:
    log.info(
        "credits.applied",
        user_id=str(entry.user_id),
        amount=entry.amount,
        kind=entry.kind,
        balance_after=entry.balance_after,
    )


def _positive(amount: int) -> int:
    if amount <= 0:
        raise InvalidInputError("A credit amount must be positive", details={"amount": amount})
    return amount


async def ledger_page(
    session: AsyncSession, user_id: uuid.UUID, params: PageParams
) -> tuple[list[CreditTransaction], str | None]:
    """A page of the user's ledger, newest first."""
    return await CreditRepository(session).page(user_id, params)
