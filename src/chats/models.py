import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from src.database import Base, SoftDeleteMixin, TimestampMixin


class ChatStatus(StrEnum):
    IMPORTING = "importing"
    READY = "ready"
    FAILED = "failed"


API_SOURCE = "api"  # a chat created empty, filled by a frontend


class Chat(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "chats"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    source_format: Mapped[str] = mapped_column(String(16), nullable=False)
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    source_filename: Mapped[str | None] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    import_progress: Mapped[float | None] = mapped_column(Float)
    message_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    participants: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    first_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Retrieval index: pending|indexing|ready|failed, and how far (by seq) it is embedded.
    index_status: Mapped[str] = mapped_column(
        String(16), nullable=False, default="pending", server_default="pending"
    )
    indexed_messages: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    index_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # The same file twice for one user is one chat: decided here, not by a prior SELECT.
        Index(
            "uq_chats_user_id_source_sha256_live",
            "user_id",
            "source_sha256",
            unique=True,
            postgresql_where=text("NOT is_deleted"),
        ),
        Index("ix_chats_user_id_created_at_id", "user_id", "created_at", "id"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{status.value}'" for status in ChatStatus) + ")",
            name="status_known",
        ),
    )


class ChatMessage(Base):
    """A message of a chat; reached only through its chat (so a deleted chat hides it)."""

    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    chat_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chats.id", ondelete="CASCADE"), nullable=False
    )
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    sender: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)

    __table_args__ = (
        # Keyset pagination within a chat, and the order of its messages.
        UniqueConstraint("chat_id", "seq"),
        Index("ix_chat_messages_chat_id_sent_at", "chat_id", "sent_at"),
        CheckConstraint("kind IN ('text', 'media', 'system')", name="kind_known"),
    )


class ChatUpload(Base):
    """The bytes of an export queued for a worker: uploads travel through the database, never
    as a path on one machine's disk. Deleted once the import ends."""

    __tablename__ = "chat_uploads"

    chat_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    filename: Mapped[str | None] = mapped_column(String(255))
    requested_title: Mapped[str | None] = mapped_column(String(200))
    requested_format: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


# The columns a bulk COPY of messages fills (the id comes from its identity).
MESSAGE_COLUMNS = ("chat_id", "seq", "sender", "sent_at", "text", "kind")
