"""The fault suite: faults injected into real processes (SIGKILL, a broker that goes away,
database connections terminated, a crash between commit and relay), each test checking
that every job ends exactly once and printing its figures.

The figures of the run are printed at the end (`make test`, `make faults`); with
`FAULTS_REPORT=<path>` (as `make faults` sets) they are also written there as Markdown.
"""

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest

# The application is imported inside the functions below: `pytest tests/faults` loads this
# file before tests/conftest.py has pointed the settings at the test database and broker.

DEADLINE_SECONDS = 120


@dataclass
class Figures:
    fault: str  # what was injected
    jobs: int  # the work that had to survive it
    done: int
    failed: int  # ended failed with a reason (and refunded, where charged)
    lost: int  # neither done nor failed when the deadline passed
    doubled: int  # done twice, charged or refunded twice, or stored twice
    recovery_seconds: float  # from the end of the fault until every job had ended
    notes: str = ""


FIGURES: list[Figures] = []
HEADER = [field.name.replace("_", " ") for field in fields(Figures)]


def table() -> list[str]:
    rows = [[str(getattr(row, field.name)) for field in fields(Figures)] for row in FIGURES]
    return [
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault figures")
    for line in table():
        terminalreporter.write_line(line)
    report = os.environ.get("FAULTS_REPORT")
    if report:
        Path(report).write_text(
            "# Faults injected, and what happened\n\n"
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on this machine "
            "(`make faults`).\n\n" + "\n".join(table()) + "\n"
        )


@pytest.fixture
def record() -> Callable[[Figures], None]:
    def add(figures: Figures) -> None:
        FIGURES.append(figures)
        print(figures)

    return add


@pytest.fixture
def fast_sweepers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stall timeouts of a few seconds (instead of minutes) for this test process, where
    `sweeping()` runs the sweepers."""
    from src.config import get_settings

    settings = get_settings()
    monkeypatch.setattr(settings, "insight_stall_seconds", 3)
    monkeypatch.setattr(settings, "insight_waiting_seconds", 5)
    monkeypatch.setattr(settings, "import_stall_seconds", 3)
    monkeypatch.setattr(settings, "index_stall_seconds", 4)


async def sweeping() -> None:
    """What beat does, every half second: the sweepers of every kind of job, and the relay."""
    from src.chats import importing
    from src.insights import service as insights_service
    from src.outbox import service as outbox
    from src.rag import indexing

    while True:
        await insights_service.sweep()
        await importing.sweep_stalled()
        await indexing.sweep_stalled()
        await outbox.relay()
        await asyncio.sleep(0.5)


@pytest.fixture
async def sweepers(fast_sweepers: None) -> AsyncIterator[None]:
    task = asyncio.create_task(sweeping())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def quiesce() -> None:
    """Leave the worker nothing but this test's work. Empty both queues, and settle what
    earlier tests left unfinished (chats importing or waiting to be indexed, insight jobs,
    unsent outbox rows), which the sweepers would otherwise hand to this test's worker:
    hundreds of indexing jobs would hide its own."""
    from sqlalchemy import text

    from src.database import get_async_db_transaction
    from src.outbox import service as outbox
    from workers.celery_app import BULK_QUEUE, INTERACTIVE_QUEUE, celery_app

    await outbox.wait_idle()
    with celery_app.connection_for_write() as connection:
        for queue in (INTERACTIVE_QUEUE, BULK_QUEUE):
            connection.default_channel.queue_purge(queue)
    left = "left by an earlier test"
    async with get_async_db_transaction() as session:
        for statement in (
            "UPDATE chats SET status = 'failed', error = :left WHERE status = 'importing'",
            "UPDATE chats SET index_status = 'failed', index_error = :left"
            " WHERE index_status IN ('pending', 'indexing')",
            "UPDATE insight_generation_jobs SET status = 'failed', error = :left"
            " WHERE status IN ('pending', 'running')",
            "UPDATE insights SET status = 'failed', error = :left"
            " WHERE status IN ('pending', 'running')",
            "UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL",
        ):
            await session.execute(text(statement), {"left": left})


async def grant(user_id: uuid.UUID, credits: int) -> None:
    """Credits for a test's user, enough for every job it requests."""
    from src.credits import service as credits_service
    from src.credits.models import CreditKind

    await credits_service.run(
        lambda s: credits_service.grant(
            s, user_id, credits, kind=CreditKind.ADMIN_GRANT, idempotency_key=uuid.uuid4().hex
        )
    )


async def until(check: Callable[[], Awaitable[bool]], seconds: float = DEADLINE_SECONDS) -> bool:
    """Poll `check` until it holds or `seconds` pass; whether it held."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


def pairs(rows: Iterable[Any]) -> dict[Any, Any]:
    """{first column: second column} of a two-column result."""
    return {key: value for key, value in rows}


@dataclass
class InsightOutcome:
    status: str
    charges: int
    refunds: int

    @property
    def ended(self) -> bool:
        return self.status in ("completed", "failed")

    @property
    def done(self) -> bool:
        return self.status == "completed" and self.charges == 1 and not self.refunds

    @property
    def failed_and_refunded(self) -> bool:
        return self.status == "failed" and self.charges == self.refunds == 1

    @property
    def doubled(self) -> bool:
        return (
            self.charges > 1
            or self.refunds > 1
            or (self.status == "completed" and self.refunds > 0)
        )


def insight_figures(
    fault: str, outcomes: list[InsightOutcome], recovery: float, notes: str
) -> Figures:
    return Figures(
        fault=fault,
        jobs=len(outcomes),
        done=sum(o.done for o in outcomes),
        failed=sum(o.failed_and_refunded for o in outcomes),
        lost=sum(not o.ended for o in outcomes),
        doubled=sum(o.doubled for o in outcomes),
        recovery_seconds=round(recovery, 1),
        notes=notes,
    )


async def insights_ended(ids: list[uuid.UUID]) -> bool:
    return all(o.ended for o in await insight_outcomes(ids))


async def insight_outcomes(ids: list[uuid.UUID]) -> list[InsightOutcome]:
    """Each insight's status with its charges and refunds in the ledger."""
    from sqlalchemy import func, select

    from src.credits.models import CreditKind, CreditTransaction
    from src.database import SessionLocal
    from src.insights.models import Insight

    async with SessionLocal() as session:
        statuses = pairs(
            await session.execute(select(Insight.id, Insight.status).where(Insight.id.in_(ids)))
        )
        money = (
            await session.execute(
                select(CreditTransaction.reference_id, CreditTransaction.kind, func.count())
                .where(
                    CreditTransaction.reference_type == "insight",
                    CreditTransaction.reference_id.in_([str(i) for i in ids]),
                )
                .group_by(CreditTransaction.reference_id, CreditTransaction.kind)
            )
        ).all()
    counts = {(reference, kind): count for reference, kind, count in money}
    return [
        InsightOutcome(
            statuses[i],
            counts.get((str(i), CreditKind.INSIGHT_CHARGE.value), 0),
            counts.get((str(i), CreditKind.INSIGHT_REFUND.value), 0),
        )
        for i in ids
    ]
