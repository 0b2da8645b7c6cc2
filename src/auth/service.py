"""Refresh tokens: issued with each sign-in, traded once each for a new pair (rotation).

A refresh token's secret is random and stored only as its SHA-256. Trading it marks it used
and issues the next one of its family; a used token that comes back was copied (the thief or
the owner will present it again), so its whole family is revoked and both must sign in
again. A token from before a password change or logout-all (an older token generation), an
expired or revoked one, or one of an account gone, is refused. Signing out (logout) revokes
the family of the token presented, so it ends one sign-in and leaves the others."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from src.auth.models import RefreshToken
from src.config import get_settings
from src.database_utils import execute_in_transaction
from src.exceptions import AuthenticationError
from src.logging import get_logger
from src.users.models import User
from src.users.repository import UserRepository

log = get_logger(__name__)

REFUSED = "Invalid or expired refresh token"


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def issue(session: AsyncSession, user: User, family_id: uuid.UUID | None = None) -> str:
    """A new refresh token for `user` (of `family_id`, or of a new family); its secret."""
    secret = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            secret_hash=_digest(secret),
            generation=user.token_generation,
            expires_at=datetime.now(UTC) + timedelta(days=get_settings().refresh_token_days),
        )
    )
    await session.flush()
    return secret


@dataclass(frozen=True)
class Rotated:
    user: User | None  # None: refused
    secret: str = ""
    reused: bool = False


async def rotate(secret: str) -> tuple[User, str]:
    """Trade a refresh token for the next one: the user and the new secret.
    `AuthenticationError` for any token that cannot be traded (see the module docstring)."""

    async def apply(session: AsyncSession) -> Rotated:
        now = datetime.now(UTC)
        token = await _live(session, secret, now)
        if token is None:
            return Rotated(None)
        if token.used_at is not None:
            await _revoke_family(session, token.family_id, now)
            return Rotated(None, reused=True)
        user = await UserRepository(session).get(token.user_id)
        if user is None or not user.is_active or user.token_generation != token.generation:
            return Rotated(None)
        token.used_at = now
        return Rotated(user, await issue(session, user, token.family_id))

    rotated = await execute_in_transaction(apply)
    if rotated.reused:
        log.warning("auth.refresh_token_reused")
    if rotated.user is None:
        raise AuthenticationError(REFUSED)
    return rotated.user, rotated.secret


async def sign_out(secret: str) -> None:
    """End the sign-in `secret` belongs to: revoke every token of its family (a used token
    still names it, as it does for `rotate`). An unknown, expired or revoked token changes
    nothing; the caller is not told which it was."""

    async def apply(session: AsyncSession) -> uuid.UUID | None:
        now = datetime.now(UTC)
        token = await _live(session, secret, now)
        if token is None:
            return None
        await _revoke_family(session, token.family_id, now)
        return token.user_id

    user_id = await execute_in_transaction(apply)
    if user_id is not None:
        log.info("auth.signed_out", user_id=str(user_id))


async def _live(session: AsyncSession, secret: str, now: datetime) -> RefreshToken | None:
    """The token of `secret`, locked, unless it is unknown, revoked or expired."""
    token = (
        await session.execute(
            select(RefreshToken)
            .where(RefreshToken.secret_hash == _digest(secret))
            .with_for_update()
        )
    ).scalar_one_or_none()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    return token


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken).where(RefreshToken.family_id == family_id).values(revoked_at=now)
    )


async def purge_expired(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete refresh tokens past their expiry. Used ones are kept until then: a copy that
    comes back while it could still work must be recognised as reused."""
    result = await session.execute(
        delete(RefreshToken).where(RefreshToken.expires_at < (now or datetime.now(UTC)))
    )
    return int(getattr(result, "rowcount", 0) or 0)
