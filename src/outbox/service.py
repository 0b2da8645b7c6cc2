"""The transactional outbox: `stage()` a task inside a unit of work, `relay()` publishes.

The relay runs right after each commit that staged something (best effort, in the
background) and periodically from beat (the guarantee). It holds a transaction-level
advisory lock, so two relays never publish in parallel, and takes rows `FOR UPDATE SKIP
LOCKED`. Publishing to the broker is a local, bounded call (kombu retries a few times, then
the row stays unsent for the next run). Delivery is at least once: a crash between publish
and commit publishes the row again, which the tasks tolerate (they claim their work with a
conditional update).
"""

import asyncio
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from src import broker
from src.database import get_async_db_transaction
from src.exceptions import ServiceUnavailableError
from src.logging import get_logger
from src.metrics import OUTBOX_PUBLISHED, OUTBOX_RELAY_FAILURES
from src.outbox.models import OutboxMessage

log = get_logger(__name__)

RELAY_LOCK_KEY = 0x636861747369  # "chatsi": one advisory lock id for the relay
BATCH = 200
_STAGED = "outbox_staged"
_background: set[asyncio.Task[int]] = set()


async def stage(session: AsyncSession, task_name: str, *args: Any) -> OutboxMessage:
    """Stage `task_name(*args)` in the caller's transaction (args must be JSON: ids, not
    objects). The request id of the current context travels with it."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    message = OutboxMessage(task_name=task_name, args=list(args), request_id=request_id)
    session.add(message)
    await session.flush()
    session.sync_session.info[_STAGED] = True
    return message


@event.listens_for(Session, "after_commit")
def _relay_after_commit(session: Session) -> None:
    if not session.info.pop(_STAGED, False):
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    task = loop.create_task(_relay_quietly())
    _background.add(task)
    task.add_done_callback(_background.discard)


@event.listens_for(Session, "after_rollback")
def _forget_staged(session: Session) -> None:
    session.info.pop(_STAGED, None)


async def _relay_quietly() -> int:
    try:
        return await relay()
    except Exception as exc:  # best effort: the periodic relay is the guarantee
        log.warning("outbox.relay_after_commit_failed", error=repr(exc))
        return 0


async def wait_idle() -> None:
    """Wait for relays started after commits (tests, graceful shutdown)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)


async def relay(limit: int = BATCH) -> int:
    """Publish up to `limit` staged tasks, oldest first; returns how many were sent."""
    # READ COMMITTED: a relay that takes the lock just after another one committed must see
    # that relay's rows as sent, not fail to lock them (40001 under REPEATABLE READ).
    async with get_async_db_transaction(isolation_level="READ COMMITTED") as session:
        if not await session.scalar(select(func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY))):
            return 0  # another relay is running; it will see these rows
        rows = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None))
                .order_by(OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        sent = 0
        for row in rows:
            row.attempts += 1
            try:
                await run_in_threadpool(
                    broker.send_task,
                    row.task_name,
                    tuple(row.args),
                    None,
                    request_id=row.request_id,
                )
            except ServiceUnavailableError as exc:
                row.last_error = str(exc.__cause__ or exc)[:1000]
                OUTBOX_RELAY_FAILURES.inc()
                log.warning("outbox.publish_failed", outbox_id=row.id, task=row.task_name)
                break  # the broker is down: keep the order, try again on the next run
            row.sent_at = datetime.now(UTC)
            sent += 1
        if sent:
            OUTBOX_PUBLISHED.inc(sent)
            log.info("outbox.relayed", count=sent)
        return sent


async def pending_count() -> int:
    async with get_async_db_transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        )
    return int(count or 0)
