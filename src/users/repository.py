from datetime import datetime

from sqlalchemy import delete, select

from src.repository import Repository
from src.users.models import User


class UserRepository(Repository[User]):
    model = User

    async def get_by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(User.email == email))
        return result.scalar_one_or_none()

    async def delete_soft_deleted_before(self, cutoff: datetime) -> int:
        # A Core DELETE: the soft-delete filter does not apply, which is the point here.
        result = await self.session.execute(
            delete(User).where(User.is_deleted.is_(True), User.deleted_at < cutoff)
        )
        return int(getattr(result, "rowcount", 0) or 0)
