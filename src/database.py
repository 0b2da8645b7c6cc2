"""Engines, sessions, the declarative base and soft delete.

Two engines, chosen by `CELERY_WORKER`:

* API: a pooled asyncpg engine (10 + 5 overflow, pre-ping, prepared-statement cache of 20).
* Celery worker: `NullPool`, so every task opens a fresh connection and no connection ever
  crosses event loops or forked processes.

Both run at REPEATABLE READ by default; `database_utils` retries what that isolation makes fail.

Exactly two places commit: `get_db` (the request dependency) and `get_async_db_transaction`
(workers, scripts and `database_utils.execute_in_transaction`). Services and repositories
flush at most. A request uses either its session or units of work, never one while holding
the other: two connections per request would let a burst of requests exhaust the pool with
each waiting for its second connection.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, MetaData, event, false, func
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.pool import NullPool

from src.config import Settings, get_settings
from src.logging import get_logger

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class TimestampMixin:
    # Python-side update stamp: known after a flush without a refresh (no lazy load in async).
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=utcnow, nullable=False
    )


class SoftDeleteMixin:
    """Rows that are hidden instead of deleted, restorable for `SOFT_DELETE_RETENTION_DAYS`.

    Every ORM SELECT run through a `Session` gets `is_deleted = false` for each mapped class
    with this mixin, added by the `do_orm_execute` hook below with `with_loader_criteria(...,
    include_aliases=True)`: plain selects, joins, aliased entities, `count()` over an entity,
    and relationship loads (eager and lazy) all skip deleted rows with no manual WHERE.
    Pass `execution_options(include_deleted=True)` to see them (restore, purge, admin).

    What the filter does NOT cover:
    * Core statements on tables (`select(users_table)`, `text(...)`, `insert/update/delete`
      and their `RETURNING`): the hook only sees ORM-enabled SELECTs.
    * Identity-map hits: `session.get(Model, pk)` returns an object already in the session
      without running SQL, deleted or not (call it with `include_deleted`-free fresh sessions,
      or check `is_deleted`).
    * Objects already loaded before they were deleted, and `refresh()` of such an object.
    * Column-only selects on a bare column (`select(User.email)`) ARE filtered, but an
      aggregate over a bare table (`select(func.count()).select_from(users_table)`) is not.
    * Unique constraints: those that must allow re-creation after a delete are partial
      indexes `WHERE NOT is_deleted`, declared on the model.
    """

    is_deleted: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def mark_deleted(self) -> None:
        self.is_deleted = True
        self.deleted_at = datetime.now(UTC)

    def mark_restored(self) -> None:
        self.is_deleted = False
        self.deleted_at = None


@event.listens_for(Session, "do_orm_execute")
def _hide_soft_deleted(state: ORMExecuteState) -> None:
    if (
        state.is_select
        and not state.is_column_load
        and not state.execution_options.get("include_deleted", False)
    ):
        state.statement = state.statement.options(
            with_loader_criteria(
                SoftDeleteMixin,
                lambda cls: cls.is_deleted.is_(False),
                include_aliases=True,
            )
        )


def create_engine(settings: Settings) -> AsyncEngine:
    """The API's pooled engine, or the worker's NullPool engine when `CELERY_WORKER=true`."""
    connect_args: dict[str, Any] = {
        "prepared_statement_cache_size": settings.db_statement_cache_size,
        "server_settings": {
            "application_name": "chatsight-worker" if settings.celery_worker else "chatsight-api"
        },
    }
    if settings.celery_worker:
        return create_async_engine(
            settings.database_url,
            poolclass=NullPool,
            isolation_level=settings.db_isolation_level,
            connect_args=connect_args,
        )
    connect_args["server_settings"]["statement_timeout"] = str(settings.db_statement_timeout_ms)
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_pre_ping=settings.db_pool_pre_ping,
        isolation_level=settings.db_isolation_level,
        connect_args=connect_args,
    )


def log_engine_configuration() -> None:
    """The startup line that says which engine this process runs."""
    event = (
        "Database engine configured for Celery worker"
        if get_settings().celery_worker
        else "Database engine configured for API"
    )
    get_logger("chatsight.database").info(
        event, pool=type(engine.pool).__name__, isolation=get_settings().db_isolation_level
    )


engine: AsyncEngine = create_engine(get_settings())
SessionLocal = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def get_engine() -> AsyncEngine:
    return engine


async def get_db() -> AsyncIterator[AsyncSession]:
    """The request's session: commits once after the endpoint succeeds, rolls back otherwise."""
    async with SessionLocal() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


@asynccontextmanager
async def get_async_db_transaction(
    isolation_level: str | None = None, *, connection: AsyncConnection | None = None
) -> AsyncIterator[AsyncSession]:
    """The worker's and scripts' unit of work: commit on success, rollback on exception.

    `isolation_level` sets this transaction's level (default: the engine's REPEATABLE READ).
    `connection`: run it on this connection (no transaction open), so that one task's
    units of work share one connection instead of opening one each (a worker's engine has
    no pool: every new session would connect again).
    """
    async with SessionLocal() if connection is None else SessionLocal(bind=connection) as session:
        try:
            if isolation_level is not None:
                await session.connection(execution_options={"isolation_level": isolation_level})
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
