"""Who is asking, and the one ownership rule every domain uses: another user's resource is a
404, exactly like a missing one (no existence leak)."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import Depends, Path
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Row, bindparam, select

from src import reads
from src.auth.security import decode_access_token
from src.database import Base, SessionLocal
from src.dependencies import DbSession
from src.exceptions import AuthenticationError, NotFoundError, PermissionDeniedError
from src.repository import Repository
from src.users.models import User
from src.users.repository import LIVE_USER, UserRepository, live

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

ModelT = TypeVar("ModelT", bound=Base)


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    generation: int


async def get_access_claims(token: Annotated[str | None, Depends(oauth2_scheme)]) -> AccessClaims:
    """What a valid, unexpired bearer token says (no database read); 401 otherwise."""
    if not token:
        raise AuthenticationError()
    claims = decode_access_token(token)
    if claims is None:
        raise AuthenticationError("Invalid or expired token")
    access = AccessClaims(*claims)
    # Every later line of this request, its request line included, names the user.
    structlog.contextvars.bind_contextvars(user_id=str(access.user_id))
    return access


Claims = Annotated[AccessClaims, Depends(get_access_claims)]


async def get_current_user(claims: Claims) -> User:
    """The live user behind the bearer token; 401 for a missing, bad or expired token, a
    token from before a password change or "sign out everywhere", or an account that was
    deleted or deactivated since.

    Read in a short session of its own, whose connection goes back to the pool at once: a
    request then never holds one connection while it waits for another (a unit of work),
    which under load would empty the pool and deadlock it."""
    async with SessionLocal() as session:
        user = await UserRepository(session).get(claims.user_id)
    if user is None or not user.is_active or user.token_generation != claims.generation:
        raise AuthenticationError("Invalid or expired token")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_current_user_row(claims: Claims) -> Row[Any]:
    """The bearer's own `users` row (its columns as attributes) for endpoints that only show
    it: one statement built once, no transaction (`src.reads`). 401 as for `CurrentUser`."""
    row = await reads.fetch_one(LIVE_USER, user_id=claims.user_id, generation=claims.generation)
    if row is None:
        raise AuthenticationError("Invalid or expired token")
    return row


CurrentUserRow = Annotated[Row[Any], Depends(get_current_user_row)]


async def get_current_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise PermissionDeniedError()
    return user


CurrentAdmin = Annotated[User, Depends(get_current_admin)]


def owned(
    repository: type[Repository[ModelT]], *, param: str, resource: str
) -> Callable[..., Awaitable[ModelT]]:
    """A dependency that loads `repository.model` by the path parameter `param` for the
    bearer of the token, or raises 404 `"{resource} not found"` when it is missing,
    soft-deleted or owned by someone else (401 when the token no longer counts, as for
    `CurrentUser`). Use it as `chat: Annotated[Chat, Depends(owned(ChatRepository,
    param="chat_id", resource="Chat"))]`."""

    async def dependency(
        session: DbSession,
        claims: Claims,
        resource_id: Annotated[uuid.UUID, Path(alias=param)],
    ) -> ModelT:
        # The user's liveness is checked in the same query: one connection, one round trip.
        record = await repository(session).get_owned(
            resource_id, claims.user_id, live(claims.user_id, claims.generation)
        )
        if record is None:
            if not await session.scalar(select(live(claims.user_id, claims.generation))):
                raise AuthenticationError("Invalid or expired token")
            raise NotFoundError(resource)
        return record

    dependency.__name__ = f"owned_{resource.lower()}"
    return dependency


def owned_row(
    model: type[Base], *, param: str, resource: str
) -> Callable[..., Awaitable[Row[Any]]]:
    """`owned`'s read-only twin, for endpoints that only show the resource: the same rule
    (404 for missing, soft-deleted or someone else's; 401 when the token no longer counts) in
    one statement built once and run with no transaction (`src.reads`). The dependency gives
    the row, whose attributes are the table's columns."""
    table = model.__table__
    statement = select(*table.columns).where(
        table.c.id == bindparam("id"),
        table.c.user_id == bindparam("user_id"),
        live(bindparam("user_id"), bindparam("generation")),
    )
    if "is_deleted" in table.c:
        statement = statement.where(table.c.is_deleted.is_(False))

    async def dependency(
        claims: Claims, resource_id: Annotated[uuid.UUID, Path(alias=param)]
    ) -> Row[Any]:
        row = await reads.fetch_one(
            statement, id=resource_id, user_id=claims.user_id, generation=claims.generation
        )
        if row is None:
            await get_current_user_row(claims)  # 401 when the token no longer counts
            raise NotFoundError(resource)
        return row

    dependency.__name__ = f"owned_{resource.lower()}_row"
    return dependency
