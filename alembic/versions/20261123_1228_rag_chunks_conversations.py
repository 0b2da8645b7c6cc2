"""rag chunks conversations

Revision ID: 75e3dcb5c5c6
Revises: b7e517ba0519
Create Date: 2026-11-23 12:28:03.189817+00:00
"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "75e3dcb5c5c6"
down_revision: str | None = "b7e517ba0519"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "ai_conversations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("chat_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("is_deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ai_conversations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_conversations")),
    )
    op.create_index(
        "ix_ai_conversations_user_id_created_at_id",
        "ai_conversations",
        ["user_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "ai_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("citations", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("filters", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["ai_conversations.id"],
            name=op.f("fk_ai_messages_conversation_id_ai_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_messages")),
    )
    op.create_index(
        op.f("ix_ai_messages_conversation_id"), "ai_messages", ["conversation_id"], unique=False
    )
    op.create_table(
        "chat_chunks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("chat_id", sa.Uuid(), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("message_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("senders", postgresql.ARRAY(sa.String(length=200)), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", postgresql.REGCONFIG(), server_default="simple", nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector(language, text)", persisted=True),
            nullable=False,
        ),
        sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=True),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_chat_chunks_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_chunks")),
        sa.UniqueConstraint(
            "chat_id",
            "first_seq",
            "last_seq",
            name=op.f("uq_chat_chunks_chat_id_first_seq_last_seq"),
        ),
    )
    op.create_index(
        "ix_chat_chunks_chat_id_last_seq", "chat_chunks", ["chat_id", "last_seq"], unique=False
    )
    op.create_index(
        "ix_chat_chunks_embedding",
        "chat_chunks",
        ["embedding"],
        unique=False,
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_index(
        "ix_chat_chunks_search", "chat_chunks", ["search"], unique=False, postgresql_using="gin"
    )
    op.add_column(
        "chats",
        sa.Column("index_status", sa.String(length=16), server_default="pending", nullable=False),
    )
    op.add_column(
        "chats", sa.Column("indexed_messages", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("chats", sa.Column("index_error", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("chats", "index_error")
    op.drop_column("chats", "indexed_messages")
    op.drop_column("chats", "index_status")
    op.drop_index("ix_chat_chunks_search", table_name="chat_chunks", postgresql_using="gin")
    op.drop_index(
        "ix_chat_chunks_embedding",
        table_name="chat_chunks",
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.drop_index("ix_chat_chunks_chat_id_last_seq", table_name="chat_chunks")
    op.drop_table("chat_chunks")
    op.drop_index(op.f("ix_ai_messages_conversation_id"), table_name="ai_messages")
    op.drop_table("ai_messages")
    op.drop_index("ix_ai_conversations_user_id_created_at_id", table_name="ai_conversations")
    op.drop_table("ai_conversations")
    op.execute("DROP EXTENSION IF EXISTS vector")
