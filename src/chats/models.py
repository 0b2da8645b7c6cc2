import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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

from src.chats.parsers.base import AttachmentKind, MessageKind
from src.database import Base, SoftDeleteMixin, TimestampMixin


class ChatStatus(StrEnum):
    IMPORTING = "importing"  # a new chat's export is being parsed and stored (or merged)
    READY = "ready"
    FAILED = "failed"  # its import failed: `error` says why, it holds no messages


class IndexStatus(StrEnum):
    """The chat's retrieval index (chunks and embeddings), kept by the RAG indexer."""

    PENDING = "pending"
    INDEXING = "indexing"
    READY = "ready"
    FAILED = "failed"


class UploadMode(StrEnum):
    IMPORT = "import"  # the export makes a new chat
    MERGE = "merge"  # the export is merged into an existing chat


def _known(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v.value}'" for v in values) + ")"


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
    # How the export's dates were read (line formats only): the order and what decided it.
    date_order: Mapped[str | None] = mapped_column(String(3))
    date_order_source: Mapped[str | None] = mapped_column(String(16))
    # 60 when the messages' times have minutes only, 1 with seconds: merges compare at the
    # coarser precision of the chat and the new export.
    time_precision: Mapped[int] = mapped_column(
        Integer, nullable=False, default=1, server_default="1"
    )
    # What the latest merge of an export into this chat did.
    last_merge_added: Mapped[int | None] = mapped_column(Integer)
    last_merge_already_present: Mapped[int | None] = mapped_column(Integer)
    last_merged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Runs of the current import (or merge) job: a worker lost mid-import makes the sweeper
    # send it again until `IMPORT_MAX_ATTEMPTS`, then fail it with that reason.
    import_attempts: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    # Retrieval index, and how far (by seq) it is embedded.
    index_status: Mapped[str] = mapped_column(
        String(16), nullable=False, default=IndexStatus.PENDING, server_default="pending"
    )
    indexed_messages: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    index_error: Mapped[str | None] = mapped_column(Text)
    # Runs of the current indexing job (since it was last queued for new messages).
    index_attempts: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    # The language its messages are written in (ISO 639-1), detected when it is indexed.
    language: Mapped[str | None] = mapped_column(String(8))

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
        CheckConstraint(_known("status", ChatStatus), name="status_known"),
    )


class ChatMessage(Base):
    """A message of a chat; reached only through its chat (so a deleted chat hides it).

    `seq` is the message's position in the chat (time order, from 1): a merge that inserts
    older messages renumbers the ones after them. `reply_to_id` is another message of the
    same chat (written only by this domain, so no foreign key is paid on every COPY row).
    """

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
    edited: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default="false"
    )
    forwarded_from: Mapped[str | None] = mapped_column(String(200))
    reply_to_id: Mapped[int | None] = mapped_column(BigInteger)
    # [{"emoji": "👍", "count": 2, "senders": ["Ana"]}], or NULL for none.
    reactions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    attachment_kind: Mapped[str | None] = mapped_column(String(16))
    attachment_name: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        # Keyset pagination within a chat, and the order of its messages. Deferrable: a
        # merge renumbers positions in one statement, checked when the statement ends.
        UniqueConstraint("chat_id", "seq", deferrable=True, initially="IMMEDIATE"),
        Index("ix_chat_messages_chat_id_sent_at", "chat_id", "sent_at"),
        CheckConstraint(_known("kind", MessageKind), name="kind_known"),
        CheckConstraint(
            "attachment_kind IS NULL OR " + _known("attachment_kind", AttachmentKind),
            name="attachment_kind_known",
        ),
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
    mode: Mapped[str] = mapped_column(
        String(8), nullable=False, default=UploadMode.IMPORT, server_default="import"
    )
    timezone: Mapped[str | None] = mapped_column(String(64))
    date_order: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


# The columns a bulk COPY of messages fills (the id comes from its identity unless given).
MESSAGE_COLUMNS = (
    "chat_id",
    "seq",
    "sender",
    "sent_at",
    "text",
    "kind",
    "edited",
    "forwarded_from",
    "reply_to_id",
    "reactions",
    "attachment_kind",
    "attachment_name",
)
