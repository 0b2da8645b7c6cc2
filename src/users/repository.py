import uuid
from datetime import datetime

from sqlalchemy import BindParameter, ColumnElement, bindparam, delete, exists, select

from src.database_utils import execute_with_lock_retry
from src.exceptions import NotFoundError
from src.repository import Repository
from src.users.models import User


def live(
    user_id: uuid.UUID | BindParameter[uuid.UUID], generation: int | BindParameter[int]
) -> ColumnElement[bool]:
    """SQL for: the user exists, is active and not deleted, and tokens of `generation` still
    count (no password change or "sign out everywhere" since). Values or bound parameters."""
    return exists().where(*_live_user(user_id, generation))


def _live_user(
    user_id: uuid.UUID | BindParameter[uuid.UUID], generation: int | BindParameter[int]
) -> tuple[ColumnElement[bool], ...]:
    return (
        User.id == user_id,
        User.is_active.is_(True),
        User.is_deleted.is_(False),
        User.token_generation == generation,
    )


# The bearer's own row (every column of `users`) while their token counts: for `reads`.
LIVE_USER = select(*User.__table__.columns).where(
    *_live_user(bindparam("user_id"), bindparam("generation"))
)


class UserRepository(Repository[User]):
    model = User

    async def get_by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(User.email == email))
        return result.scalar_one_or_none()

    async def lock(self, user_id: uuid.UUID) -> User:
        """The live user row, locked `FOR UPDATE NOWAIT` with retries (503 if it stays busy)."""
        result = await execute_with_lock_retry(self.session, select(User).where(User.id == user_id))
        user: User | None = result.scalar_one_or_none()
        if user is None:
            raise NotFoundError("User")
        return user

    async def delete_soft_deleted_before(self, cutoff: datetime) -> int:
        # A Core DELETE: the soft-delete filter does not apply, which is the point here.
        result = await self.session.execute(
            delete(User).where(User.is_deleted.is_(True), User.deleted_at < cutoff),
            execution_options={"synchronize_session": False},
        )
        return int(getattr(result, "rowcount", 0) or 0)
