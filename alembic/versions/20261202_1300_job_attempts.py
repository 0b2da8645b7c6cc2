"""job attempts

`chats.import_attempts` and `chats.index_attempts`: runs of the chat's current import and
indexing jobs, so that the sweepers send a lost job again a bounded number of times and then
end it with its reason.

Revision ID: d6f2b8c4a1e7
Revises: c4e9a7b1d5f2
Create Date: 2026-12-02 13:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "d6f2b8c4a1e7"
down_revision: str | None = "c4e9a7b1d5f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in ("import_attempts", "index_attempts"):
        op.add_column("chats", sa.Column(column, sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    for column in ("import_attempts", "index_attempts"):
        op.drop_column("chats", column)
