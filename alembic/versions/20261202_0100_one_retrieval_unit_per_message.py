"""one retrieval unit per message

Retrieval finds single messages: `chat_chunks` holds one row per message worth citing (its
line, the context its embedding also reads, its sender and time) instead of windows of
several messages. Chats gain their detected `language`. The old windows cannot be turned
into units, so they are dropped and every chat is queued for indexing again (through the
outbox, as any indexing job).

Revision ID: 5d2e7b1c9a40
Revises: 3c1f0a9d7e21
Create Date: 2026-12-02 01:00:00+00:00
"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "5d2e7b1c9a40"
down_revision: str | None = "3c1f0a9d7e21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX_TASK = "chatsight.rag.index_chat"


def _hnsw() -> None:
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


def _reindex_every_chat() -> None:
    op.execute(
        "UPDATE chats SET index_status = 'pending', indexed_messages = 0, index_error = NULL"
    )
    op.execute(
        "INSERT INTO outbox (task_name, args, attempts)"
        f" SELECT '{INDEX_TASK}', jsonb_build_array(id::text), 0"
        " FROM chats WHERE NOT is_deleted AND status = 'ready'"
    )


def upgrade() -> None:
    op.add_column("chats", sa.Column("language", sa.String(8), nullable=True))
    op.drop_table("chat_chunks")
    op.create_table(
        "chat_chunks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("chat_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("words", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("context", sa.Text(), server_default="", nullable=False),
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
            "chat_id", "message_id", name=op.f("uq_chat_chunks_chat_id_message_id")
        ),
    )
    _hnsw()
    _reindex_every_chat()


def downgrade() -> None:
    op.drop_table("chat_chunks")
    op.create_table(
        "chat_chunks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("chat_id", sa.Uuid(), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("message_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("senders", postgresql.ARRAY(sa.String(200)), nullable=False),
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
    )
    op.create_index(
        "ix_chat_chunks_chat_id_last_seq", "chat_chunks", ["chat_id", "last_seq"], unique=False
    )
    _hnsw()
    _reindex_every_chat()
    op.drop_column("chats", "language")
