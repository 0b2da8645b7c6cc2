"""credits ledger

Revision ID: 0903cd8bd8a4
Revises: 9fec2b257960
Create Date: 2026-11-23 11:44:21.320357+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0903cd8bd8a4"
down_revision: str | None = "9fec2b257960"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_transactions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reference_type", sa.String(length=32), nullable=True),
        sa.Column("reference_id", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('signup', 'purchase', 'purchase_refund', 'insight_charge', "
            "'insight_refund', 'admin_grant')",
            name=op.f("ck_credit_transactions_kind_known"),
        ),
        sa.CheckConstraint(
            "balance_after >= 0", name=op.f("ck_credit_transactions_balance_after_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_credit_transactions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_transactions")),
        sa.UniqueConstraint(
            "user_id",
            "idempotency_key",
            name=op.f("uq_credit_transactions_user_id_idempotency_key"),
        ),
    )
    op.create_index(
        "ix_credit_transactions_user_id_id", "credit_transactions", ["user_id", "id"], unique=False
    )
    op.add_column(
        "users", sa.Column("credits_balance", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_check_constraint(
        op.f("ck_users_credits_balance_non_negative"), "users", "credits_balance >= 0"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_users_credits_balance_non_negative"), "users", type_="check")
    op.drop_column("users", "credits_balance")
    op.drop_index("ix_credit_transactions_user_id_id", table_name="credit_transactions")
    op.drop_table("credit_transactions")
