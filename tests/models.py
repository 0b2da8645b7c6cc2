"""Test-only tables, on their own metadata so the application's schema stays untouched.

`Note` belongs to a `User` (the soft-delete mixin's relationship and join cases, and the
ownership dependency); the others exercise `database_utils` with real commits."""

import uuid

from sqlalchemy import ForeignKey, Integer, MetaData, String, Uuid
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from src.repository import Repository
from src.users.models import User


class TestBase(AsyncAttrs, DeclarativeBase):
    __test__ = False
    metadata = MetaData()


class Note(TestBase):
    __tablename__ = "test_notes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(User.__table__.c.id, ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(String(200))
    owner: Mapped[User | None] = relationship(User, lazy="select")


class NoteRepository(Repository[Note]):  # type: ignore[type-var]
    model = Note


class Counter(TestBase):
    __tablename__ = "test_counters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class UniqueRecord(TestBase):
    __tablename__ = "test_unique_records"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class Job(TestBase):
    __tablename__ = "test_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    job_id: Mapped[str] = mapped_column(String(50), unique=True)
    status: Mapped[str] = mapped_column(String(20))
