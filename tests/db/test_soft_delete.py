"""The soft-delete filter hides deleted rows from every kind of ORM SELECT."""

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, selectinload

from src.users.models import User
from tests.factories import unique_email
from tests.models import Note

pytestmark = pytest.mark.usefixtures("test_tables")


async def make_user(session: Any, *, deleted: bool = False, email: str | None = None) -> User:
    user = User(email=email or unique_email(), password_hash="x")
    if deleted:
        user.mark_deleted()
    session.add(user)
    await session.flush()
    return user


@pytest.fixture
async def pair(db_session: Any) -> tuple[User, User, Note, Note]:
    live = await make_user(db_session)
    gone = await make_user(db_session, deleted=True)
    live_note = Note(user_id=live.id, body="kept")
    gone_note = Note(user_id=gone.id, body="orphaned")
    db_session.add_all([live_note, gone_note])
    await db_session.flush()
    # Start from an empty identity map: the filter acts on SQL, not on loaded objects.
    db_session.expunge_all()
    return live, gone, live_note, gone_note


async def test_select_hides_deleted(db_session: Any, pair: Any) -> None:
    live, gone, *_ = pair
    ids = set((await db_session.scalars(select(User.id))).all())
    assert live.id in ids
    assert gone.id not in ids
    users = (await db_session.scalars(select(User).where(User.id.in_([live.id, gone.id])))).all()
    assert [user.id for user in users] == [live.id]


async def test_get_by_primary_key_hides_deleted(db_session: Any, pair: Any) -> None:
    _, gone, *_ = pair
    assert await db_session.get(User, gone.id) is None


@pytest.mark.parametrize("loader", [selectinload, joinedload])
async def test_eager_relationship_load_hides_deleted(
    db_session: Any, pair: Any, loader: Any
) -> None:
    live, _, live_note, gone_note = pair
    notes = {
        note.id: note
        for note in (
            await db_session.scalars(
                select(Note)
                .where(Note.id.in_([live_note.id, gone_note.id]))
                .options(loader(Note.owner))
            )
        ).unique()
    }
    assert notes[live_note.id].owner.id == live.id
    assert notes[gone_note.id].owner is None


async def test_lazy_relationship_load_hides_deleted(db_session: Any, pair: Any) -> None:
    _, _, _, gone_note = pair
    note = await db_session.get(Note, gone_note.id)
    assert await note.awaitable_attrs.owner is None


async def test_join_hides_deleted(db_session: Any, pair: Any) -> None:
    _, _, live_note, gone_note = pair
    joined = (
        await db_session.scalars(
            select(Note.id).join(Note.owner).where(Note.id.in_([live_note.id, gone_note.id]))
        )
    ).all()
    assert joined == [live_note.id]


async def test_aliased_entity_hides_deleted(db_session: Any, pair: Any) -> None:
    live, gone, *_ = pair
    owner = aliased(User)
    found = (
        await db_session.scalars(select(owner.id).where(owner.id.in_([live.id, gone.id])))
    ).all()
    assert found == [live.id]


async def test_count_hides_deleted(db_session: Any, pair: Any) -> None:
    live, gone, *_ = pair
    scope = User.id.in_([live.id, gone.id])
    assert await db_session.scalar(select(func.count()).select_from(User).where(scope)) == 1
    assert await db_session.scalar(select(func.count(User.id)).where(scope)) == 1


async def test_include_deleted_sees_them(db_session: Any, pair: Any) -> None:
    live, gone, *_ = pair
    found = (
        await db_session.scalars(
            select(User.id).where(User.id.in_([live.id, gone.id])),
            execution_options={"include_deleted": True},
        )
    ).all()
    assert set(found) == {live.id, gone.id}


async def test_deleted_email_can_be_registered_again(db_session: Any) -> None:
    email = unique_email()
    first = await make_user(db_session, email=email)
    first.mark_deleted()
    await db_session.flush()
    second = await make_user(db_session, email=email)
    assert second.id != first.id


async def test_two_live_accounts_cannot_share_an_email(db_session: Any) -> None:
    email = unique_email()
    await make_user(db_session, email=email)
    with pytest.raises(IntegrityError):
        await make_user(db_session, email=email)
