from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from src.users import service as users_service
from src.users.models import User
from tests.factories import unique_email


async def test_purge_removes_only_accounts_deleted_past_retention(db_session: Any) -> None:
    now = datetime.now(UTC)
    old = User(
        email=unique_email(),
        password_hash="x",
        is_deleted=True,
        deleted_at=now - timedelta(days=31),
    )
    recent = User(
        email=unique_email(),
        password_hash="x",
        is_deleted=True,
        deleted_at=now - timedelta(days=29),
    )
    live = User(email=unique_email(), password_hash="x")
    db_session.add_all([old, recent, live])
    await db_session.flush()
    ids = [old.id, recent.id, live.id]

    purged = await users_service.purge_deleted(db_session, now=now)

    assert purged >= 1
    left = set(
        (
            await db_session.scalars(
                select(User.id).where(User.id.in_(ids)),
                execution_options={"include_deleted": True},
            )
        ).all()
    )
    assert left == {recent.id, live.id}
