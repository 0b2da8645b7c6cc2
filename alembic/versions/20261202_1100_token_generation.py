"""token generation

`users.token_generation`: access tokens carry the generation they were issued in; a password
change or "sign out everywhere" moves it on, ending every earlier token. Existing tokens have
none and count as generation 0, which every existing user starts at.

Revision ID: b3d8f1a2c6e4
Revises: 9a1c5e7d3b20
Create Date: 2026-12-02 11:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "b3d8f1a2c6e4"
down_revision: str | None = "9a1c5e7d3b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("token_generation", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("users", "token_generation")
