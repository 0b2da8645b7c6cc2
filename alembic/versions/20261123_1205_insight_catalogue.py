"""insight catalogue

Revision ID: 522f299e72b1
Revises: 76d360e35af7
Create Date: 2026-11-23 12:05:02.862768+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "522f299e72b1"
down_revision: str | None = "76d360e35af7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("slug", name=op.f("uq_categories_slug")),
    )
    op.create_table(
        "insight_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("credit_cost", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
        sa.CheckConstraint(
            "provider IN ('local', 'openai')", name=op.f("ck_insight_types_provider_known")
        ),
        sa.CheckConstraint(
            "credit_cost >= 0", name=op.f("ck_insight_types_credit_cost_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_insight_types_category_id_categories"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_types")),
        sa.UniqueConstraint("slug", name=op.f("uq_insight_types_slug")),
    )
    op.create_index(
        op.f("ix_insight_types_category_id"), "insight_types", ["category_id"], unique=False
    )
    seed_catalogue()


# The catalogue as first offered: (slug, name, description, [(type slug, name, cost, text)]).
CATALOGUE = [
    (
        "overview",
        "Overview",
        "The shape of the conversation at a glance.",
        [
            ("summary", "Summary", 3, "The most representative messages, in order."),
            (
                "activity",
                "Activity",
                1,
                "Messages and words per participant, by weekday and hour, and the busiest days.",
            ),
        ],
    ),
    (
        "dynamics",
        "Dynamics",
        "How the participants interact.",
        [
            ("response_times", "Response times", 2, "Median and p90 reply delay per participant."),
            ("initiators", "Conversation starters", 1, "Who opens a conversation after a silence."),
        ],
    ),
    (
        "emotions",
        "Emotions",
        "The tone of the conversation.",
        [
            ("sentiment", "Sentiment", 2, "Sentiment per participant and per month."),
        ],
    ),
    (
        "topics",
        "Topics",
        "What the conversation is about.",
        [
            ("keywords", "Keywords", 2, "Distinctive words of each participant."),
        ],
    ),
]


def seed_catalogue() -> None:
    categories = sa.table(
        "categories",
        sa.column("id", sa.Integer),
        sa.column("slug", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("position", sa.Integer),
    )
    insight_types = sa.table(
        "insight_types",
        sa.column("category_id", sa.Integer),
        sa.column("slug", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("credit_cost", sa.Integer),
        sa.column("provider", sa.String),
        sa.column("position", sa.Integer),
    )
    connection = op.get_bind()
    for position, (slug, name, description, types) in enumerate(CATALOGUE):
        category_id = connection.execute(
            categories.insert()
            .values(slug=slug, name=name, description=description, position=position)
            .returning(categories.c.id)
        ).scalar_one()
        op.bulk_insert(
            insight_types,
            [
                {
                    "category_id": category_id,
                    "slug": t_slug,
                    "name": t_name,
                    "description": text,
                    "credit_cost": cost,
                    "provider": "local",
                    "position": index,
                }
                for index, (t_slug, t_name, cost, text) in enumerate(types)
            ],
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_insight_types_category_id"), table_name="insight_types")
    op.drop_table("insight_types")
    op.drop_table("categories")
