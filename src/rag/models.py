import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, REGCONFIG, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from src.database import Base, SoftDeleteMixin, TimestampMixin

EMBEDDING_DIMENSION = 384


class ChatChunk(Base):
    """The retrieval unit of one message (see `src/rag/chunking.py`): its "Sender: text" line,
    searched by full text in the chat's language, and the embedding of that line read after a
    little context (NULL until the indexing job fills it; retrieval falls back to full text).

    `seq` is the message's position when it was indexed: a later merge of older messages
    moves positions and leaves it as it was (rewriting the rows would re-insert every moved
    unit into the HNSW index). `sender` and `sent_at` are the message's, for the filters."""

    __tablename__ = "chat_chunks"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    chat_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chats.id", ondelete="CASCADE"), nullable=False
    )
    message_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    sender: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    words: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="0")
    context: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    language: Mapped[str] = mapped_column(REGCONFIG, nullable=False, server_default="simple")
    search: Mapped[Any] = mapped_column(
        TSVECTOR, Computed("to_tsvector(language, text)", persisted=True)
    )
    embedding: Mapped[list[float] | None] = mapped_column(Vector(EMBEDDING_DIMENSION))

    __table_args__ = (
        UniqueConstraint("chat_id", "message_id"),
        # Through btree_gin: the full-text side reads only the chats asked about.
        Index("ix_chat_chunks_chat_id_search", "chat_id", "search", postgresql_using="gin"),
        Index(
            "ix_chat_chunks_embedding",
            "embedding",
            postgresql_using="hnsw",
            postgresql_with={"m": 32, "ef_construction": 128},
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )


class AIConversation(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "ai_conversations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    chat_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), nullable=False)

    __table_args__ = (
        Index("ix_ai_conversations_user_id_created_at_id", "user_id", "created_at", "id"),
    )


class AIMessage(Base):
    __tablename__ = "ai_messages"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ai_conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    filters: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
