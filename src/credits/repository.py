import uuid
from typing import Any, cast

from sqlalchemy import (
    CompoundSelect,
    Table,
    bindparam,
    exists,
    false,
    func,
    insert,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from src.credits.models import CreditTransaction
from src.database_utils import LOCK_NOT_AVAILABLE, sqlstate_of
from src.exceptions import LockTimeoutException, NotFoundError
from src.pagination import PageParams, keyset_page
from src.repository import Repository
from src.users.models import User

_users = cast(Table, User.__table__)
_ledger = cast(Table, CreditTransaction.__table__)

# The user's row, locked for a balance change. `FOR NO KEY UPDATE`: the balance is no key, so
# rows referencing the user (insights, ledger) keep inserting while it is locked, and cannot
# deadlock with it. Deleted users included (a Core statement: no soft-delete filter).
_LOCK = (
    select(_users.c.credits_balance)
    .where(_users.c.id == bindparam("user_id"))
    .with_for_update(key_share=True)
)


def _apply_statement() -> CompoundSelect[Any]:
    """One balance change as one statement, run with the user's row locked: the ledger row
    already written under the key (a replay), else the balance changed (unless it would go
    below zero) and its ledger row inserted. Under READ COMMITTED the statement's snapshot
    is taken after the lock was granted, so a change that committed under the same key
    before it is seen."""
    user_id = bindparam("user_id", type_=_users.c.id.type)
    amount = bindparam("amount", type_=_ledger.c.amount.type)
    prior = (
        select(*_ledger.columns)
        .where(_ledger.c.user_id == user_id, _ledger.c.idempotency_key == bindparam("key"))
        .cte("prior")
    )
    changed = (
        update(_users)
        .where(
            _users.c.id == user_id,
            ~exists(prior.select()),
            _users.c.credits_balance + amount >= 0,
        )
        .values(credits_balance=_users.c.credits_balance + amount, updated_at=func.now())
        .returning(_users.c.credits_balance)
        .cte("changed")
    )
    entry = (
        insert(_ledger)
        .from_select(
            [
                "user_id",
                "amount",
                "balance_after",
                "kind",
                "reference_type",
                "reference_id",
                "idempotency_key",
            ],
            select(
                user_id,
                amount,
                changed.c.credits_balance,
                bindparam("kind", type_=_ledger.c.kind.type),
                bindparam("reference_type", type_=_ledger.c.reference_type.type),
                bindparam("reference_id", type_=_ledger.c.reference_id.type),
                bindparam("key", type_=_ledger.c.idempotency_key.type),
            ),
        )
        .returning(*_ledger.columns)
        .cte("entry")
    )
    return union_all(
        select(false().label("replayed"), *entry.c), select(true().label("replayed"), *prior.c)
    )


_APPLY = _apply_statement()


class CreditRepository(Repository[CreditTransaction]):
    model = CreditTransaction

    async def lock_balance(self, user_id: uuid.UUID, *, wait_ms: int) -> int:
        """Lock the user's row and return its balance, queueing up to `wait_ms` for the lock
        (`LockTimeoutException`, 503, after that: the transaction is then spent). Deleted
        accounts are included: money owed to or by them is still recorded."""
        await self.session.execute(text(f"SET LOCAL lock_timeout = {int(wait_ms)}"))
        try:
            balance = (await self.session.execute(_LOCK, {"user_id": user_id})).scalar()
        except DBAPIError as exc:
            if sqlstate_of(exc) == LOCK_NOT_AVAILABLE:
                raise LockTimeoutException() from exc
            raise
        if balance is None:
            raise NotFoundError("User")
        return int(balance)

    async def apply(
        self,
        user_id: uuid.UUID,
        amount: int,
        *,
        kind: str,
        idempotency_key: str,
        reference_type: str | None,
        reference_id: str | None,
    ) -> tuple[CreditTransaction, bool] | None:
        """With the user's row locked (`lock_balance`): the ledger row already written under
        `idempotency_key` (and True: a replay), or the new balance and its ledger row written
        in one statement (and False); None when the balance cannot cover a negative `amount`
        (nothing written)."""
        row = (
            await self.session.execute(
                _APPLY,
                {
                    "user_id": user_id,
                    "amount": amount,
                    "kind": kind,
                    "key": idempotency_key,
                    "reference_type": reference_type,
                    "reference_id": reference_id,
                },
            )
        ).first()
        if row is None:
            return None
        values = row._asdict()
        replayed = values.pop("replayed")
        if not replayed:
            # The statement bypassed the ORM: a User this session already holds learns its
            # new balance here, as an ORM update would have told it.
            loaded = self.session.sync_session.identity_map.get(identity_key(User, user_id))
            if loaded is not None:
                set_committed_value(loaded, "credits_balance", values["balance_after"])
        # Not added to the session: the row is written already.
        return CreditTransaction(**values), replayed

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
