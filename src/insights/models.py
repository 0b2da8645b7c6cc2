import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from src.database import Base, TimestampMixin


class InsightStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


_STATUSES = "(" + ", ".join(f"'{status.value}'" for status in InsightStatus) + ")"


class Insight(TimestampMixin, Base):
    """One insight type for one chat. Each (re)generation bumps `generation`; only the job of
    the current generation may write the result."""

    __tablename__ = "insights"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    chat_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chats.id", ondelete="CASCADE"), nullable=False
    )
    insight_type_id: Mapped[int] = mapped_column(
        ForeignKey("insight_types.id", ondelete="RESTRICT"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    # 0 only inside the transaction that creates the row; 1 after its first request.
    generation: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    credits_charged: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Messages were merged into the chat after this generation read them: regenerate to
    # include them (`?regenerate=true`). Cleared by the next generation.
    stale: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default="false"
    )

    __table_args__ = (
        UniqueConstraint("chat_id", "insight_type_id"),
        CheckConstraint(f"status IN {_STATUSES}", name="status_known"),
    )


class InsightGenerationJob(TimestampMixin, Base):
    """The background work of one generation. Claimed with a conditional update
    (pending -> running), so a duplicate delivery does nothing."""

    __tablename__ = "insight_generation_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    job_id: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    insight_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("insights.id", ondelete="CASCADE"), nullable=False, index=True
    )
    generation: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(f"status IN {_STATUSES}", name="status_known"),
        # The sweeper's scans.
        Index(
            "ix_insight_generation_jobs_open",
            "status",
            "updated_at",
            postgresql_where=text("status IN ('pending', 'running')"),
        ),
    )
