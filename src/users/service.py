"""Accounts: registration, credentials, profile changes and soft deletion."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from src.auth import security
from src.config import get_settings
from src.credits import service as credits_service
from src.credits.models import CreditKind
from src.database_utils import UNIQUE_VIOLATION, execute_in_transaction, sqlstate_of
from src.logging import get_logger
from src.users.exceptions import EmailAlreadyRegistered, InvalidCredentials
from src.users.models import User
from src.users.repository import UserRepository
from src.users.schemas import UserCreate, UserUpdate

log = get_logger(__name__)


async def register(session: AsyncSession, data: UserCreate) -> User:
    """Create an account. A live account with the same email is a conflict, decided by the
    partial unique index (two concurrent sign-ups cannot both win)."""
    password_hash = await run_in_threadpool(security.hash_password, data.password)
    user = User(email=data.email, password_hash=password_hash, display_name=data.display_name)
    await _flush_unique_email(session, user)
    signup_credits = get_settings().signup_credits
    if signup_credits:
        await credits_service.grant(
            session,
            user.id,
            signup_credits,
            kind=CreditKind.SIGNUP,
            idempotency_key=f"signup:{user.id}",
        )
    log.info("user.registered", user_id=str(user.id))
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    user = await UserRepository(session).get_by_email(email.strip().lower())
    hash_ = user.password_hash if user and user.is_active else None
    if not await run_in_threadpool(security.verify_password, hash_, password):
        log.warning("auth.failed")
        raise InvalidCredentials()
    assert user is not None
    if security.needs_rehash(user.password_hash):
        user.password_hash = await run_in_threadpool(security.hash_password, password)
    return user


async def update(user: User, data: UserUpdate) -> User:
    """Apply a profile change as its own unit of work, holding the user row's lock.

    Passwords are checked and hashed first (CPU-bound, in a thread) so the lock is held for
    the writes only. A row held by another transaction answers 503 after the lock retries.
    """
    if data.current_password is not None and not await run_in_threadpool(
        security.verify_password, user.password_hash, data.current_password
    ):
        raise InvalidCredentials("Current password is incorrect")
    changes: dict[str, Any] = data.model_dump(
        exclude_unset=True, exclude={"current_password", "password"}
    )
    if data.password is not None:
        changes["password_hash"] = await run_in_threadpool(security.hash_password, data.password)

    async def apply(session: AsyncSession) -> User:
        locked = await UserRepository(session).lock(user.id)
        for key, value in changes.items():
            setattr(locked, key, value)
        if "password_hash" in changes:
            locked.token_generation += 1  # every earlier token ends with the old password
        await _flush_unique_email(session, locked)
        return locked

    return await execute_in_transaction(apply)


async def soft_delete(user: User) -> None:
    """Hide the account; its tokens stop working at once (they resolve to no live user).
    Restorable for `SOFT_DELETE_RETENTION_DAYS`, then purged by the periodic task."""

    async def apply(session: AsyncSession) -> None:
        locked = await UserRepository(session).lock(user.id)
        locked.mark_deleted()
        await session.flush()

    await execute_in_transaction(apply)
    log.info("user.deleted", user_id=str(user.id))


async def _flush_unique_email(session: AsyncSession, user: User) -> None:
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        if sqlstate_of(exc) == UNIQUE_VIOLATION and "uq_users_email_live" in str(exc.orig):
            raise EmailAlreadyRegistered() from exc
        raise


async def purge_deleted(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete for good the accounts soft-deleted longer ago than the retention period.
    Returns how many went. Rows owned by a user cascade through their foreign keys."""
    days = get_settings().soft_delete_retention_days
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    purged = await UserRepository(session).delete_soft_deleted_before(cutoff)
    if purged:
        log.info("users.purged", count=purged, cutoff=cutoff.isoformat())
    return purged


async def end_all_tokens(user: User) -> None:
    """Sign out everywhere: every access token issued so far stops working."""

    async def apply(session: AsyncSession) -> None:
        locked = await UserRepository(session).lock(user.id)
        locked.token_generation += 1

    await execute_in_transaction(apply)
