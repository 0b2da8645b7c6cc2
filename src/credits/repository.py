import uuid

from sqlalchemy import select, update

from src.credits.models import CreditTransaction
from src.database_utils import execute_with_lock_retry
from src.exceptions import NotFoundError
from src.pagination import PageParams, keyset_page
from src.repository import Repository
from src.users.models import User


class CreditRepository(Repository[CreditTransaction]):
    model = CreditTransaction

    async def lock_balance(self, user_id: uuid.UUID, *, wait_ms: int) -> int:
        """Lock the user's row (queueing up to `wait_ms`) and return its balance. Deleted
        accounts are included: money owed to or by them is still recorded."""
        result = await execute_with_lock_retry(
            self.session,
            select(User.credits_balance)
            .where(User.id == user_id)
            .execution_options(include_deleted=True),
            wait_ms=wait_ms,
            # The balance is no key: rows referencing the user (insights, ledger) keep
            # inserting while it is locked, and cannot deadlock with it.
            no_key=True,
        )
        balance = result.scalar_one_or_none()
        if balance is None:
            raise NotFoundError("User")
        return int(balance)

    async def set_balance(self, user_id: uuid.UUID, balance: int) -> None:
        # The default synchronisation also refreshes a User already loaded in this session.
        await self.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(credits_balance=balance)
            .execution_options(include_deleted=True)
        )

    async def get_by_key(self, user_id: uuid.UUID, key: str) -> CreditTransaction | None:
        statement = select(CreditTransaction).where(
            CreditTransaction.user_id == user_id, CreditTransaction.idempotency_key == key
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def page(
        self, user_id: uuid.UUID, params: PageParams
    ) -> tuple[list[CreditTransaction], str | None]:
        statement = select(CreditTransaction).where(CreditTransaction.user_id == user_id)
        return await keyset_page(
            self.session, statement, [CreditTransaction.id], params, convert=[int]
        )
