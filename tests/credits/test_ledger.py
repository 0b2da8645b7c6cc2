"""The credits service against the real database, with real commits."""

import asyncio
import random
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from src.config import get_settings
from src.credits import service as credits_service
from src.credits.exceptions import IdempotencyKeyReused, InsufficientCredits
from src.credits.models import CreditKind, CreditTransaction
from src.database import SessionLocal
from src.exceptions import LockTimeoutException
from src.metrics import DB_RETRIES
from src.users.models import User
from tests.factories import unique_email


async def new_user(balance: int = 0) -> uuid.UUID:
    async with SessionLocal() as session:
        user = User(email=unique_email("ledger"), password_hash="x")
        session.add(user)
        await session.commit()
        user_id = user.id
    if balance:
        await credits_service.run(
            lambda s: credits_service.grant(
                s, user_id, balance, kind=CreditKind.ADMIN_GRANT, idempotency_key="start"
            )
        )
    return user_id


async def balance_and_ledger(user_id: uuid.UUID) -> tuple[int, int, int]:
    async with SessionLocal() as session:
        balance = await session.scalar(
            select(User.credits_balance)
            .where(User.id == user_id)
            .execution_options(include_deleted=True)
        )
        total, rows = (
            await session.execute(
                select(func.coalesce(func.sum(CreditTransaction.amount), 0), func.count()).where(
                    CreditTransaction.user_id == user_id
                )
            )
        ).one()
    return int(balance or 0), int(total), int(rows)


def charge(user_id: uuid.UUID, amount: int, key: str) -> Any:
    return credits_service.run(
        lambda s: credits_service.charge(s, user_id, amount, idempotency_key=key)
    )


def grant(user_id: uuid.UUID, amount: int, key: str) -> Any:
    return credits_service.run(
        lambda s: credits_service.grant(
            s, user_id, amount, kind=CreditKind.ADMIN_GRANT, idempotency_key=key
        )
    )


async def test_charge_and_grant_write_balance_and_ledger_together() -> None:
    user_id = await new_user(10)
    charged = await charge(user_id, 4, "c1")
    granted = await grant(user_id, 7, "g1")
    assert (charged.transaction.amount, charged.transaction.balance_after) == (-4, 6)
    assert (granted.transaction.amount, granted.transaction.balance_after) == (7, 13)
    assert await balance_and_ledger(user_id) == (13, 13, 3)


async def test_replaying_a_key_returns_the_first_result_and_changes_nothing() -> None:
    user_id = await new_user(10)
    first = await charge(user_id, 3, "once")
    again = await charge(user_id, 3, "once")
    assert not first.replayed
    assert again.replayed
    assert again.transaction.id == first.transaction.id
    assert await balance_and_ledger(user_id) == (7, 7, 2)


async def test_a_key_reused_for_another_operation_is_a_conflict() -> None:
    user_id = await new_user(10)
    await charge(user_id, 3, "k")
    with pytest.raises(IdempotencyKeyReused):
        await charge(user_id, 5, "k")
    assert await balance_and_ledger(user_id) == (7, 7, 2)


async def test_charge_beyond_the_balance_is_refused_and_writes_nothing() -> None:
    user_id = await new_user(5)
    with pytest.raises(InsufficientCredits) as raised:
        await charge(user_id, 6, "too-much")
    assert raised.value.status_code == 402
    assert raised.value.details == {"balance": 5, "required": 6}
    assert await balance_and_ledger(user_id) == (5, 5, 1)


async def test_take_back_stops_at_zero() -> None:
    user_id = await new_user(30)
    taken = await credits_service.run(
        lambda s: credits_service.take_back(s, user_id, 50, idempotency_key="reverse")
    )
    assert taken is not None
    assert taken.transaction.amount == -30
    nothing = await credits_service.run(
        lambda s: credits_service.take_back(s, user_id, 50, idempotency_key="reverse-2")
    )
    assert nothing is None
    assert await balance_and_ledger(user_id) == (0, 0, 2)


async def test_the_database_refuses_a_negative_balance() -> None:
    """The CHECK constraint is the last line of defence under the service's own check."""
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    user_id = await new_user(1)
    async with SessionLocal() as session:
        with pytest.raises(IntegrityError, match="credits_balance_non_negative"):
            await session.execute(update(User).where(User.id == user_id).values(credits_balance=-1))


async def test_bank_64_concurrent_tasks_never_lose_or_double_money() -> None:
    """64 tasks, each a random mix of charges, grants and replays of keys already used, on one
    user; a reader samples the balance throughout."""
    start = 200
    user_id = await new_user(start)
    rng = random.Random(20261123)
    used: list[tuple[str, str, int]] = []  # (op, key, amount) that were applied
    granted = charged = refused = replays = 0
    retries_before = {
        code: DB_RETRIES.labels(sqlstate=code, operation="transaction")._value.get()
        for code in ("40001", "40P01")
    }
    samples: list[int] = []
    done = asyncio.Event()

    async def reader() -> None:
        while not done.is_set():
            async with SessionLocal() as session:
                value = await session.scalar(select(User.credits_balance).where(User.id == user_id))
            samples.append(int(value or 0))
            await asyncio.sleep(0)

    async def task(number: int) -> None:
        nonlocal granted, charged, refused, replays
        for step in range(12):
            if used and rng.random() < 0.2:
                op, key, amount = rng.choice(used)
                result = await (charge if op == "charge" else grant)(user_id, amount, key)
                assert result.replayed
                replays += 1
                continue
            key = f"bank:{number}:{step}"
            amount = rng.randint(1, 9)
            if rng.random() < 0.6:
                try:
                    await charge(user_id, amount, key)
                except InsufficientCredits:
                    refused += 1
                    continue
                charged += amount
                used.append(("charge", key, amount))
            else:
                await grant(user_id, amount, key)
                granted += amount
                used.append(("grant", key, amount))

    loop = asyncio.get_running_loop()
    began = loop.time()
    reading = asyncio.create_task(reader())
    await asyncio.gather(*(task(n) for n in range(64)))
    wall = loop.time() - began
    done.set()
    await reading

    balance, ledger_sum, rows = await balance_and_ledger(user_id)
    assert min(samples) >= 0
    assert balance == ledger_sum == start + granted - charged
    assert rows == 1 + len(used)  # the start grant plus one row per applied key
    async with SessionLocal() as session:
        doubled = (
            await session.execute(
                select(CreditTransaction.idempotency_key)
                .where(CreditTransaction.user_id == user_id)
                .group_by(CreditTransaction.idempotency_key)
                .having(func.count() > 1)
            )
        ).all()
    assert doubled == []
    retries = {
        code: DB_RETRIES.labels(sqlstate=code, operation="transaction")._value.get() - before
        for code, before in retries_before.items()
    }
    print(
        f"\nbank: {len(used) + replays + refused} operations ({len(used)} applied, "
        f"{replays} replays, {refused} refused as insufficient) in {wall:.2f} s; "
        f"{len(samples)} balance samples, min {min(samples)}; retries {retries}"
    )


async def test_a_user_loaded_in_the_session_sees_the_new_balance() -> None:
    user_id = await new_user(3)

    async def grant_and_read(session: Any) -> int:
        user = await session.get(User, user_id)
        await credits_service.grant(
            session, user_id, 4, kind=CreditKind.ADMIN_GRANT, idempotency_key="seen"
        )
        return int(user.credits_balance)

    assert await credits_service.run(grant_and_read) == 7


async def test_a_balance_locked_past_the_wait_answers_busy_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user_id = await new_user(5)
    monkeypatch.setattr(get_settings(), "lock_wait_ms", 200)
    async with SessionLocal() as holder, holder.begin():
        await holder.execute(select(User.id).where(User.id == user_id).with_for_update())
        with pytest.raises(LockTimeoutException):
            await credits_service.run(
                lambda s: credits_service.charge(s, user_id, 1, idempotency_key="busy")
            )
    balance, ledger_sum, rows = await balance_and_ledger(user_id)
    assert balance == ledger_sum == 5
    assert rows == 1
    # Once the row is free, the same key applies (nothing of the refused try was kept).
    applied = await credits_service.run(
        lambda s: credits_service.charge(s, user_id, 1, idempotency_key="busy")
    )
    assert not applied.replayed
    assert applied.transaction.balance_after == 4
