"""richer messages and merges

Messages gain edited / forwarded_from / reply_to_id / reactions / attachment; chats record how
their dates were read, their time precision and what the latest merge did; uploads can be
merges; insights can be stale. Chunks lose their (chat_id, first_seq, last_seq) key: a merge
renumbers positions, and indexing is kept idempotent by its lock and chunked-id watermark.

Revision ID: 3c1f0a9d7e21
Revises: 75e3dcb5c5c6
Create Date: 2026-12-01 23:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "3c1f0a9d7e21"
down_revision: str | None = "75e3dcb5c5c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ATTACHMENT_KINDS = (
    "photo, video, audio, voice, sticker, gif, document, contact, location, poll, other"
).split(", ")


def upgrade() -> None:
    op.add_column(
        "chat_messages",
        sa.Column("edited", sa.Boolean(), server_default="false", nullable=False),
    )
    op.add_column("chat_messages", sa.Column("forwarded_from", sa.String(200), nullable=True))
    op.add_column("chat_messages", sa.Column("reply_to_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "chat_messages",
        sa.Column("reactions", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("chat_messages", sa.Column("attachment_kind", sa.String(16), nullable=True))
    op.add_column("chat_messages", sa.Column("attachment_name", sa.String(255), nullable=True))
    op.create_check_constraint(
        op.f("ck_chat_messages_attachment_kind_known"),
        "chat_messages",
        "attachment_kind IS NULL OR attachment_kind IN ("
        + ", ".join(f"'{kind}'" for kind in ATTACHMENT_KINDS)
        + ")",
    )

    op.add_column("chats", sa.Column("date_order", sa.String(3), nullable=True))
    op.add_column("chats", sa.Column("date_order_source", sa.String(16), nullable=True))
    op.add_column(
        "chats", sa.Column("time_precision", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column("chats", sa.Column("last_merge_added", sa.Integer(), nullable=True))
    op.add_column("chats", sa.Column("last_merge_already_present", sa.Integer(), nullable=True))
    op.add_column("chats", sa.Column("last_merged_at", sa.DateTime(timezone=True), nullable=True))

    op.add_column(
        "chat_uploads",
        sa.Column("mode", sa.String(8), server_default="import", nullable=False),
    )
    op.add_column("chat_uploads", sa.Column("timezone", sa.String(64), nullable=True))
    op.add_column("chat_uploads", sa.Column("date_order", sa.String(3), nullable=True))

    op.add_column(
        "insights", sa.Column("stale", sa.Boolean(), server_default="false", nullable=False)
    )

    op.drop_constraint(
        op.f("uq_chat_chunks_chat_id_first_seq_last_seq"), "chat_chunks", type_="unique"
    )
    # A merge renumbers positions in one UPDATE: the key is checked when the statement ends.
    op.drop_constraint(op.f("uq_chat_messages_chat_id_seq"), "chat_messages", type_="unique")
    op.create_unique_constraint(
        op.f("uq_chat_messages_chat_id_seq"),
        "chat_messages",
        ["chat_id", "seq"],
        deferrable=True,
        initially="IMMEDIATE",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("uq_chat_messages_chat_id_seq"), "chat_messages", type_="unique")
    op.create_unique_constraint(
        op.f("uq_chat_messages_chat_id_seq"), "chat_messages", ["chat_id", "seq"]
    )
    op.create_unique_constraint(
        op.f("uq_chat_chunks_chat_id_first_seq_last_seq"),
        "chat_chunks",
        ["chat_id", "first_seq", "last_seq"],
    )
    op.drop_column("insights", "stale")
    for column in ("date_order", "timezone", "mode"):
        op.drop_column("chat_uploads", column)
    for column in (
        "last_merged_at",
        "last_merge_already_present",
        "last_merge_added",
        "time_precision",
        "date_order_source",
        "date_order",
    ):
        op.drop_column("chats", column)
    op.drop_constraint(
        op.f("ck_chat_messages_attachment_kind_known"), "chat_messages", type_="check"
    )
    for column in (
        "attachment_name",
        "attachment_kind",
        "reactions",
        "reply_to_id",
        "forwarded_from",
        "edited",
    ):
        op.drop_column("chat_messages", column)
