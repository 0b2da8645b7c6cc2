"""Concurrency-safe building blocks on top of `src.database`.

Under REPEATABLE READ, a statement that touches a row another transaction changed and
committed after our snapshot fails with SQLSTATE 40001, and two transactions locking rows in
opposite orders fail one of them with 40P01. Both are cured by running the WHOLE unit of work
again on a fresh snapshot, which is what `execute_in_transaction` does. Everything that locks or
upserts (`execute_with_lock_retry`, `upsert_unique_record`, `upsert_or_create`) must therefore
be called from inside it.
"""

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Result, Select, and_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement, TextClause

from src.config import get_settings
from src.database import get_async_db_transaction
from src.exceptions import LockTimeoutException, TransactionConflictError
from src.logging import get_logger
from src.metrics import DB_RETRIES, DB_RETRY_EXHAUSTED

log = get_logger(__name__)

SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
LOCK_NOT_AVAILABLE = "55P03"
UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"
QUERY_CANCELED = "57014"  # statement_timeout, or a cancel request
RETRYABLE_SQLSTATES = frozenset({SERIALIZATION_FAILURE, DEADLOCK_DETECTED})

T = TypeVar("T")
ModelT = TypeVar("ModelT")


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE behind a SQLAlchemy `DBAPIError` (asyncpg exposes it on the cause)."""
    if not isinstance(exc, DBAPIError):
        return None
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None)
        if isinstance(code, str):
            return code
    return None


def backoff_delay(attempt: int, *, base: float = 0.01, cap: float = 0.5) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * 2**attempt))


async def execute_in_transaction(
    fn: Callable[[AsyncSession], Awaitable[T]],
    *,
    isolation_level: str | None = None,
    attempts: int | None = None,
) -> T:
    """Run `fn(session)` as one transaction, re-running all of it on 40001 or 40P01.

    Each attempt gets a fresh session from `get_async_db_transaction()` (commit on success,
    rollback on error), so the commit sits inside the retry too. `fn` must be safe to run
    again: it re-reads what it needs and keeps nothing from a failed attempt. Backoff is
    exponential with full jitter. Every retry is counted in
    `chatsight_db_retries_total{operation="transaction", sqlstate=...}`; after the last attempt
    the error becomes `TransactionConflictError` (503 + Retry-After).

    `isolation_level` overrides the engine's REPEATABLE READ for this transaction only (for a
    row that is hot by nature, where queueing on a lock beats retrying).
    """
    tries = attempts or get_settings().db_retry_attempts
    unit = getattr(fn, "__qualname__", "transaction")
    for attempt in range(tries):
        try:
            async with get_async_db_transaction(isolation_level=isolation_level) as session:
                return await fn(session)
        except DBAPIError as exc:
            code = sqlstate_of(exc)
            if code not in RETRYABLE_SQLSTATES:
                raise
            if attempt + 1 == tries:
                DB_RETRY_EXHAUSTED.labels(sqlstate=code, operation="transaction").inc()
                log.warning("db.transaction.retries_exhausted", sqlstate=code, unit=unit)
                raise TransactionConflictError() from exc
            DB_RETRIES.labels(sqlstate=code, operation="transaction").inc()
            log.info("db.transaction.retry", sqlstate=code, unit=unit, attempt=attempt + 1)
            await asyncio.sleep(backoff_delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


async def execute_with_lock_retry(
    session: AsyncSession,
    statement: Select[Any],
    *,
    attempts: int | None = None,
    base_delay: float = 0.05,
    wait_ms: int | None = None,
    no_key: bool = False,
) -> Result[Any]:
    """Run `statement` with `FOR UPDATE NOWAIT`, retrying a busy lock (55P03) with backoff.

    Each try runs in a SAVEPOINT, since a failed statement would otherwise abort the whole
    transaction. After `attempts` (default `DB_LOCK_RETRY_ATTEMPTS`, 3) busy tries it raises
    `LockTimeoutException`, which the API answers with 503 and `Retry-After`. A 40001 raised
    here (the row changed after our snapshot) propagates to `execute_in_transaction`.

    With `wait_ms`, each try queues on the lock for up to that long instead of failing at
    once (`SET LOCAL lock_timeout`, kept for the rest of the transaction): the right choice
    for a row that is hot by nature, where waiting a few milliseconds beats retrying.

    `no_key=True` takes `FOR NO KEY UPDATE`, for changes that leave the row's keys alone: it
    does not conflict with the KEY SHARE locks that inserts referencing the row take, so a
    unit that inserts a child row and then locks its parent cannot deadlock with another.
    """
    tries = attempts or get_settings().db_lock_retry_attempts
    if wait_ms is None:
        locking = statement.with_for_update(nowait=True, key_share=no_key)
    else:
        locking = statement.with_for_update(key_share=no_key)
        await session.execute(text(f"SET LOCAL lock_timeout = {int(wait_ms)}"))
    for attempt in range(tries):
        try:
            async with session.begin_nested():
                result: Result[Any] = await session.execute(locking)
                return result
        except DBAPIError as exc:
            if sqlstate_of(exc) != LOCK_NOT_AVAILABLE:
                raise
            if attempt + 1 == tries:
                DB_RETRY_EXHAUSTED.labels(sqlstate=LOCK_NOT_AVAILABLE, operation="lock").inc()
                log.warning("db.lock.retries_exhausted", attempts=tries)
                raise LockTimeoutException() from exc
            DB_RETRIES.labels(sqlstate=LOCK_NOT_AVAILABLE, operation="lock").inc()
            await asyncio.sleep(base_delay * 2**attempt + random.uniform(0, base_delay))
    raise AssertionError("unreachable")  # pragma: no cover


async def upsert_unique_record(
    session: AsyncSession,
    model: type[ModelT],
    unique_keys: Mapping[str, Any],
    update_values: Mapping[str, Any],
    *,
    index_where: ColumnElement[bool] | TextClause | None = None,
    insert_values: Mapping[str, Any] | None = None,
) -> ModelT:
    """`INSERT ... ON CONFLICT (unique_keys) DO UPDATE SET update_values RETURNING *`.

    Returns the one row for `unique_keys`, created or updated, as a fresh ORM object, and
    holds its row lock until the transaction ends (concurrent upserts of the key queue). For
    a partial unique index, pass its predicate as `index_where`; `insert_values` are set only
    when the row is new. Under REPEATABLE READ a row inserted concurrently makes this raise
    40001: call it inside `execute_in_transaction`.
    """
    insert = pg_insert(model).values({**unique_keys, **(insert_values or {}), **update_values})
    # DO UPDATE needs at least one assignment for RETURNING to yield an existing row.
    assignments = dict(update_values) or {
        key: insert.excluded[key] for key in list(unique_keys)[:1]
    }
    statement = insert.on_conflict_do_update(
        index_elements=list(unique_keys), index_where=index_where, set_=assignments
    ).returning(model)
    result = await session.execute(statement, execution_options={"populate_existing": True})
    record: ModelT = result.scalar_one()
    return record


async def upsert_or_create(
    session: AsyncSession,
    model: type[ModelT],
    filters: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
    *,
    index_where: ColumnElement[bool] | TextClause | None = None,
) -> tuple[ModelT, bool]:
    """Get the row matching `filters` or create it with `defaults`: `(record, is_new)`.

    Race-free through the unique index on the filter columns (`ON CONFLICT DO NOTHING`), not
    check-then-insert: across concurrent callers exactly one sees `is_new=True`. Call it inside
    `execute_in_transaction`: under REPEATABLE READ a conflicting row committed after our
    snapshot raises 40001 and the retry then finds it.
    """
    insert = (
        pg_insert(model)
        .values({**filters, **(defaults or {})})
        .on_conflict_do_nothing(index_elements=list(filters), index_where=index_where)
        .returning(model)
    )
    created = (await session.execute(insert)).scalar_one_or_none()
    if created is not None:
        return created, True
    # The conflicting row is the one the index covers, deleted or not (for a partial index,
    # its predicate narrows the match to the rows it covers).
    criteria: list[Any] = [getattr(model, key) == value for key, value in filters.items()]
    if index_where is not None:
        criteria.append(index_where)
    existing = await session.execute(
        select(model).where(and_(*criteria)),
        execution_options={"populate_existing": True, "include_deleted": True},
    )
    return existing.scalar_one(), False
