"""chats messages uploads

Revision ID: 76d360e35af7
Revises: 792b81ea47df
Create Date: 2026-11-23 11:57:37.412255+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "76d360e35af7"
down_revision: str | None = "792b81ea47df"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("source_format", sa.String(length=16), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("source_filename", sa.String(length=255), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("import_progress", sa.Float(), nullable=True),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("participants", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("first_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "status IN ('importing', 'ready', 'failed')", name=op.f("ck_chats_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_chats_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chats")),
    )
    op.create_index(
        "ix_chats_user_id_created_at_id", "chats", ["user_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "uq_chats_user_id_source_sha256_live",
        "chats",
        ["user_id", "source_sha256"],
        unique=True,
        postgresql_where=sa.text("NOT is_deleted"),
    )
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("chat_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "kind IN ('text', 'media', 'system')", name=op.f("ck_chat_messages_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_chat_messages_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
        sa.UniqueConstraint("chat_id", "seq", name=op.f("uq_chat_messages_chat_id_seq")),
    )
    op.create_index(
        "ix_chat_messages_chat_id_sent_at", "chat_messages", ["chat_id", "sent_at"], unique=False
    )
    op.create_table(
        "chat_uploads",
        sa.Column("chat_id", sa.Uuid(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("requested_title", sa.String(length=200), nullable=True),
        sa.Column("requested_format", sa.String(length=16), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_chat_uploads_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_chat_uploads")),
    )


def downgrade() -> None:
    op.drop_table("chat_uploads")
    op.drop_index("ix_chat_messages_chat_id_sent_at", table_name="chat_messages")
    op.drop_table("chat_messages")
    op.drop_index(
        "uq_chats_user_id_source_sha256_live",
        table_name="chats",
        postgresql_where=sa.text("NOT is_deleted"),
    )
    op.drop_index("ix_chats_user_id_created_at_id", table_name="chats")
    op.drop_table("chats")
