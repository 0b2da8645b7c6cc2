"""database_utils under real concurrency: real commits on test-only tables."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from src.database import SessionLocal
from src.database_utils import (
    execute_in_transaction,
    execute_with_lock_retry,
    upsert_or_create,
    upsert_unique_record,
)
from src.exceptions import LockTimeoutException, TransactionConflictError
from src.metrics import DB_RETRIES, DB_RETRY_EXHAUSTED
from tests.models import Counter, Job, UniqueRecord

pytestmark = pytest.mark.usefixtures("test_tables")


def metric(counter: Any, **labels: str) -> float:
    value: float = counter.labels(**labels)._value.get()
    return value


@pytest.fixture
async def counter_id() -> AsyncIterator[int]:
    row_id = uuid.uuid4().int % 2_000_000_000

    async def create(session: AsyncSession) -> None:
        session.add(Counter(id=row_id, value=0))

    await execute_in_transaction(create)
    yield row_id

    async def drop(session: AsyncSession) -> None:
        await session.execute(delete(Counter).where(Counter.id == row_id))

    await execute_in_transaction(drop)


async def read_value(row_id: int) -> int:
    async with SessionLocal() as session:
        value = await session.scalar(select(Counter.value).where(Counter.id == row_id))
        assert value is not None
        return value


async def increment(session: AsyncSession, row_id: int) -> None:
    await session.execute(
        update(Counter).where(Counter.id == row_id).values(value=Counter.value + 1)
    )


class Interleaving:
    """Unit A reads (taking its snapshot), then B increments and commits, then A writes."""

    def __init__(self, row_id: int) -> None:
        self.row_id = row_id
        self.a_has_snapshot = asyncio.Event()
        self.b_committed = asyncio.Event()

    async def let_b_commit(self) -> None:
        """Called by A after its first read."""
        self.a_has_snapshot.set()
        await self.b_committed.wait()

    async def run_b(self) -> None:
        await self.a_has_snapshot.wait()
        await execute_in_transaction(lambda session: increment(session, self.row_id))
        self.b_committed.set()


async def test_concurrent_increments_retry_and_count_both(counter_id: int) -> None:
    """A takes its snapshot, B increments and commits, then A's UPDATE hits 40001: the whole
    unit of A is re-run on a fresh snapshot and both increments count."""
    order = Interleaving(counter_id)
    a_attempts = 0
    retries_before = metric(DB_RETRIES, sqlstate="40001", operation="transaction")

    async def increment_a(session: AsyncSession) -> int:
        nonlocal a_attempts
        a_attempts += 1
        current = await session.scalar(select(Counter.value).where(Counter.id == counter_id))
        if a_attempts == 1:
            await order.let_b_commit()
        await increment(session, counter_id)
        return int(current or 0)

    seen_by_a, _ = await asyncio.gather(execute_in_transaction(increment_a), order.run_b())

    assert a_attempts == 2
    assert seen_by_a == 1  # the retry saw B's committed increment
    assert await read_value(counter_id) == 2
    assert metric(DB_RETRIES, sqlstate="40001", operation="transaction") == retries_before + 1


async def test_without_retry_the_conflict_surfaces(counter_id: int) -> None:
    """The same interleaving with one attempt: proof that the retry is what saves it."""
    order = Interleaving(counter_id)

    async def increment_a(session: AsyncSession) -> None:
        await session.scalar(select(Counter.value).where(Counter.id == counter_id))
        await order.let_b_commit()
        await increment(session, counter_id)

    with pytest.raises(TransactionConflictError):
        await asyncio.gather(execute_in_transaction(increment_a, attempts=1), order.run_b())
    assert await read_value(counter_id) == 1


async def test_retries_are_bounded() -> None:
    calls = 0
    exhausted_before = metric(DB_RETRY_EXHAUSTED, sqlstate="40001", operation="transaction")

    async def always_conflicts(session: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        await session.execute(
            text("DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '40001'; END $$")
        )

    with pytest.raises(TransactionConflictError):
        await execute_in_transaction(always_conflicts, attempts=4)
    assert calls == 4
    assert (
        metric(DB_RETRY_EXHAUSTED, sqlstate="40001", operation="transaction")
        == exhausted_before + 1
    )


async def test_other_errors_are_not_retried() -> None:
    calls = 0
    key = uuid.uuid4().hex

    async def duplicate(session: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        session.add_all([UniqueRecord(key=key, value=1), UniqueRecord(key=key, value=2)])
        await session.flush()

    with pytest.raises(IntegrityError):
        await execute_in_transaction(duplicate)
    assert calls == 1


async def test_read_committed_unit_queues_instead_of_retrying(counter_id: int) -> None:
    """The per-transaction isolation override: at READ COMMITTED the same interleaving needs
    no retry, the UPDATE waits for the lock and re-reads the committed row."""
    order = Interleaving(counter_id)
    a_attempts = 0

    async def increment_a(session: AsyncSession) -> str:
        nonlocal a_attempts
        a_attempts += 1
        level = await session.scalar(text("SHOW transaction_isolation"))
        await order.let_b_commit()
        await increment(session, counter_id)
        return str(level)

    level, _ = await asyncio.gather(
        execute_in_transaction(increment_a, isolation_level="READ COMMITTED"), order.run_b()
    )
    assert level == "read committed"
    assert a_attempts == 1
    assert await read_value(counter_id) == 2


async def test_lock_retry_gives_up_with_lock_timeout(counter_id: int) -> None:
    retries_before = metric(DB_RETRIES, sqlstate="55P03", operation="lock")
    exhausted_before = metric(DB_RETRY_EXHAUSTED, sqlstate="55P03", operation="lock")
    attempts_seen = 0

    async with SessionLocal() as holder:
        await holder.execute(select(Counter).where(Counter.id == counter_id).with_for_update())

        async def lock_it(session: AsyncSession) -> None:
            nonlocal attempts_seen
            attempts_seen += 1
            await execute_with_lock_retry(session, select(Counter).where(Counter.id == counter_id))

        with pytest.raises(LockTimeoutException) as raised:
            await execute_in_transaction(lock_it)
        await holder.rollback()

    assert raised.value.status_code == 503
    assert raised.value.headers["Retry-After"]
    assert attempts_seen == 1  # 55P03 is retried inside, not by re-running the unit
    assert metric(DB_RETRIES, sqlstate="55P03", operation="lock") == retries_before + 2
    assert metric(DB_RETRY_EXHAUSTED, sqlstate="55P03", operation="lock") == exhausted_before + 1


async def test_lock_retry_succeeds_once_the_lock_is_released(counter_id: int) -> None:
    retries_before = metric(DB_RETRIES, sqlstate="55P03", operation="lock")

    async with SessionLocal() as holder:
        await holder.execute(select(Counter).where(Counter.id == counter_id).with_for_update())

        async def release_after_first_failure() -> None:
            # Free the row once a NOWAIT attempt has failed (the retry then waits >= 0.2 s).
            # The retry counter is the only observable sign of that failure, hence the poll.
            while metric(DB_RETRIES, sqlstate="55P03", operation="lock") == retries_before:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            await holder.rollback()

        async def lock_and_bump(session: AsyncSession) -> int:
            result = await execute_with_lock_retry(
                session, select(Counter).where(Counter.id == counter_id), base_delay=0.2
            )
            row = result.scalar_one()
            row.value += 10
            await session.flush()
            return row.value

        value, _ = await asyncio.gather(
            execute_in_transaction(lock_and_bump), release_after_first_failure()
        )

    assert metric(DB_RETRIES, sqlstate="55P03", operation="lock") == retries_before + 1
    assert value == 10
    assert await read_value(counter_id) == 10


async def test_concurrent_upserts_leave_one_row() -> None:
    key = f"k-{uuid.uuid4().hex[:10]}"

    async def upsert(session: AsyncSession, value: int) -> UniqueRecord:
        return await upsert_unique_record(session, UniqueRecord, {"key": key}, {"value": value})

    results = await asyncio.gather(
        *(execute_in_transaction(lambda s, v=v: upsert(s, v)) for v in range(20))
    )

    assert {record.key for record in results} == {key}
    async with SessionLocal() as session:
        rows = (await session.scalars(select(UniqueRecord).where(UniqueRecord.key == key))).all()
    assert len(rows) == 1
    assert rows[0].value in range(20)


async def test_upsert_updates_the_existing_row() -> None:
    key = f"k-{uuid.uuid4().hex[:10]}"
    first = await execute_in_transaction(
        lambda s: upsert_unique_record(s, UniqueRecord, {"key": key}, {"value": 1})
    )
    second = await execute_in_transaction(
        lambda s: upsert_unique_record(s, UniqueRecord, {"key": key}, {"value": 2})
    )
    assert (first.value, second.value) == (1, 2)


async def test_upsert_or_create_is_new_exactly_once() -> None:
    job_id = f"job-{uuid.uuid4().hex[:10]}"

    async def get_or_create(session: AsyncSession) -> tuple[Job, bool]:
        return await upsert_or_create(session, Job, {"job_id": job_id}, {"status": "pending"})

    outcomes = await asyncio.gather(*(execute_in_transaction(get_or_create) for _ in range(20)))

    assert sum(is_new for _, is_new in outcomes) == 1
    assert len({job.id for job, _ in outcomes}) == 1
    async with SessionLocal() as session:
        count = len((await session.scalars(select(Job).where(Job.job_id == job_id))).all())
    assert count == 1
