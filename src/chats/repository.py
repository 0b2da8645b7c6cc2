import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Row, bindparam, delete, func, select, text, update

from src import reads
from src.chats.exceptions import InvalidMessages
from src.chats.merging import DIGEST_SQL, StoredMessage
from src.chats.models import MESSAGE_COLUMNS, Chat, ChatMessage, ChatStatus, ChatUpload
from src.database_utils import execute_with_lock_retry, upsert_or_create
from src.pagination import PageParams, keyset_rows
from src.repository import Repository
from src.users.repository import LIVE_USER, live

# What a message read shows (`MessageRead`), and no more.
_MESSAGE_READ_COLUMNS = (
    ChatMessage.id,
    ChatMessage.seq,
    ChatMessage.sender,
    ChatMessage.sent_at,
    ChatMessage.text,
    ChatMessage.kind,
    ChatMessage.edited,
    ChatMessage.forwarded_from,
    ChatMessage.reply_to_id,
    ChatMessage.reactions,
    ChatMessage.attachment_kind,
    ChatMessage.attachment_name,
)
_MESSAGE_BY_ID = select(*_MESSAGE_READ_COLUMNS).where(
    ChatMessage.chat_id == bindparam("chat_id"), ChatMessage.id == bindparam("message_id")
)


async def message_page(
    chat_id: uuid.UUID,
    params: PageParams,
    *,
    since: datetime | None,
    until: datetime | None,
    sender: str | None,
    q: str | None,
    from_seq: int | None,
) -> tuple[list[Row[Any]], str | None]:
    """A page of the chat's messages in order (by `seq`), filtered: one statement, no
    transaction (`src.reads`). The caller has checked that the chat is the reader's."""
    statement = select(*_MESSAGE_READ_COLUMNS).where(ChatMessage.chat_id == chat_id)
    if from_seq is not None:
        statement = statement.where(ChatMessage.seq >= from_seq)
    if since is not None:
        statement = statement.where(ChatMessage.sent_at >= since)
    if until is not None:
        statement = statement.where(ChatMessage.sent_at < until)
    if sender is not None:
        statement = statement.where(ChatMessage.sender == sender)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(ChatMessage.text.ilike(pattern, escape="\\"))
    return await keyset_rows(statement, [ChatMessage.seq], params, convert=[int], descending=False)


async def message_by_id(chat_id: uuid.UUID, message_id: int) -> Row[Any] | None:
    """One message of the chat, as a page shows it, or None when the chat has no message
    with that id: one statement, no transaction (`src.reads`). The caller has checked that
    the chat is the reader's."""
    return await reads.fetch_one(_MESSAGE_BY_ID, chat_id=chat_id, message_id=message_id)


async def chat_page(
    user_id: uuid.UUID, generation: int, params: PageParams
) -> tuple[list[Row[Any]], str | None] | None:
    """A page of the user's chats, newest first, with the user's liveness checked in the same
    statement (`src.reads`); None when the token no longer counts."""
    table = Chat.__table__
    statement = select(*table.columns).where(
        table.c.user_id == user_id, table.c.is_deleted.is_(False), live(user_id, generation)
    )
    rows, cursor = await keyset_rows(
        statement,
        [Chat.created_at, Chat.id],
        params,
        convert=[datetime.fromisoformat, uuid.UUID],
    )
    if (
        not rows
        and await reads.fetch_one(LIVE_USER, user_id=user_id, generation=generation) is None
    ):
        return None
    return rows, cursor


@dataclass(frozen=True)
class StalledImport:
    chat_id: uuid.UUID
    mode: str | None  # of its upload; None when the upload is gone
    attempts: int


class ChatRepository(Repository[Chat]):
    model = Chat

    async def delete_soft_deleted_before(self, cutoff: datetime) -> list[uuid.UUID]:
        """The ids of the chats deleted for good."""
        # A Core DELETE: the soft-delete filter does not apply, which is the point here.
        result = await self.session.execute(
            delete(Chat)
            .where(Chat.is_deleted.is_(True), Chat.deleted_at < cutoff)
            .returning(Chat.id),
            execution_options={"synchronize_session": False},
        )
        return list(result.scalars().all())

    async def get_owned_deleted(self, chat_id: uuid.UUID, user_id: uuid.UUID) -> Chat | None:
        result = await self.session.execute(
            select(Chat).where(Chat.id == chat_id, Chat.user_id == user_id, Chat.is_deleted),
            execution_options={"include_deleted": True},
        )
        return result.scalar_one_or_none()

    async def live_by_source(self, user_id: uuid.UUID, sha256: str) -> Chat | None:
        result = await self.session.execute(
            select(Chat).where(Chat.user_id == user_id, Chat.source_sha256 == sha256)
        )
        return result.scalar_one_or_none()

    async def lock(self, chat_id: uuid.UUID, *, wait_ms: int) -> Chat | None:
        result = await execute_with_lock_retry(
            self.session, select(Chat).where(Chat.id == chat_id), wait_ms=wait_ms
        )
        chat: Chat | None = result.scalar_one_or_none()
        return chat

    async def copy_messages(
        self,
        rows: Sequence[tuple[Any, ...]],
        *,
        with_ids: bool,
        batch: int,
        after_batch: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        """COPY message rows (the `MESSAGE_COLUMNS`, led by the id when `with_ids`) into
        `chat_messages` in the session's open transaction, `batch` rows per call. A value
        PostgreSQL refuses is an `InvalidMessages` (422), never a 500."""
        driver = await self._driver()
        # COPY outside a transaction would commit on its own: refuse rather than half-write.
        assert driver.is_in_transaction(), "copy_messages needs an open transaction"
        columns = ("id", *MESSAGE_COLUMNS) if with_ids else MESSAGE_COLUMNS
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            try:
                await driver.copy_records_to_table("chat_messages", records=chunk, columns=columns)
            # Class 22 from PostgreSQL (a value the column cannot hold), or the driver's encoder
            # refusing one before it is sent.
            except (asyncpg.exceptions.DataError, OverflowError, ValueError) as exc:
                raise InvalidMessages(
                    f"A message cannot be stored: {exc}", problem="invalid_value"
                ) from exc
            if after_batch is not None:
                await after_batch(start + len(chunk))

    async def allocate_message_ids(self, count: int) -> list[int]:
        """`count` ids from the messages' identity, for rows that refer to each other."""
        result = await self.session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('chat_messages', 'id')) "
                "FROM generate_series(1, :count)"
            ),
            {"count": count},
        )
        return [row[0] for row in result]

    async def create_for_source(
        self, user_id: uuid.UUID, sha256: str, values: dict[str, Any]
    ) -> tuple[Chat, bool]:
        """The live chat of this user for these bytes, created with `values` if there is
        none: decided by the partial unique index, so concurrent uploads make one chat."""
        return await upsert_or_create(
            self.session,
            Chat,
            {"user_id": user_id, "source_sha256": sha256},
            values,
            index_where=text("NOT is_deleted"),
        )

    async def stored_tail(
        self, chat_id: uuid.UUID, since: datetime, default_start: int
    ) -> tuple[int, list[StoredMessage]]:
        """The chat's messages from the first one sent at or after `since` on, in position
        order, as a merge compares them, with that first position (`default_start` when
        there is none). Read through the driver: a chat may hold a million messages."""
        driver = await self._driver()
        start = await driver.fetchval(
            "SELECT min(seq) FROM chat_messages WHERE chat_id = $1 AND sent_at >= $2",
            chat_id,
            since,
        )
        if start is None:
            return default_start, []
        rows = await driver.fetch(
            "SELECT id, seq, sender, floor(extract(epoch FROM sent_at))::bigint,"
            f" {DIGEST_SQL} FROM chat_messages"
            " WHERE chat_id = $1 AND seq >= $2 ORDER BY seq",
            chat_id,
            start,
        )
        return start, [StoredMessage._make(row) for row in rows]

    async def _driver(self) -> Any:
        """The asyncpg connection under the session's (same transaction)."""
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        return raw.driver_connection

    async def move_messages(self, chat_id: uuid.UUID, moves: Sequence[tuple[int, int]]) -> None:
        """Give messages new positions: (id, seq) pairs, in one statement (the (chat_id, seq)
        key is deferrable, so it is checked once the statement is done)."""
        if not moves:
            return
        driver = await self._driver()
        await driver.execute(
            "UPDATE chat_messages AS m SET seq = v.seq"
            " FROM unnest($1::bigint[], $2::integer[]) AS v(id, seq)"
            " WHERE m.id = v.id AND m.chat_id = $3",
            [message_id for message_id, _ in moves],
            [seq for _, seq in moves],
            chat_id,
        )

    async def stalled_imports(self, before: datetime) -> list["StalledImport"]:
        """The chats `importing` with no progress since `before`."""
        result = await self.session.execute(
            select(Chat.id, ChatUpload.mode, Chat.import_attempts)
            .outerjoin(ChatUpload, ChatUpload.chat_id == Chat.id)
            .where(Chat.status == ChatStatus.IMPORTING, Chat.updated_at < before)
        )
        return [StalledImport(*row) for row in result]

    async def start_import_attempt(self, chat_id: uuid.UUID) -> Chat | None:
        """Count a run of the chat's import job (which also shows the sweeper it is alive);
        None when the chat is not importing (done, failed or deleted)."""
        return await self.session.scalar(
            update(Chat)
            .where(
                Chat.id == chat_id,
                Chat.status == ChatStatus.IMPORTING.value,
                Chat.is_deleted.is_(False),
            )
            .values(import_attempts=Chat.import_attempts + 1)
            .returning(Chat)
        )

    async def touch(self, chat_ids: Sequence[uuid.UUID]) -> None:
        """Stamp the chats as just updated (a sweeper's "seen": the next sweep waits again)."""
        if chat_ids:
            await self.session.execute(
                update(Chat)
                .where(Chat.id.in_(chat_ids))
                .values(updated_at=func.now())
                .execution_options(synchronize_session=False)
            )

    async def delete_messages(self, chat_id: uuid.UUID) -> None:
        await self.session.execute(delete(ChatMessage).where(ChatMessage.chat_id == chat_id))

    async def finish_import(self, chat_id: uuid.UUID, values: dict[str, Any]) -> bool:
        """Mark an importing chat ready (or failed) with `values`; False if it was not
        importing any more (another delivery of the job got there first)."""
        result = await self.session.execute(
            update(Chat)
            .where(Chat.id == chat_id, Chat.status == ChatStatus.IMPORTING.value)
            .values(**values)
            .returning(Chat.id)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none() is not None

    async def set_progress(self, chat_id: uuid.UUID, progress: float) -> None:
        """Best effort: skipped while another transaction holds the chat row (the import's
        own final write), rather than waiting behind it."""
        free = (
            select(Chat.id)
            .where(Chat.id == chat_id, Chat.status == ChatStatus.IMPORTING)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        await self.session.execute(
            update(Chat)
            .where(Chat.id == free)
            .values(import_progress=progress)
            .execution_options(synchronize_session=False)
        )

    async def get_upload(self, chat_id: uuid.UUID) -> ChatUpload | None:
        return await self.session.get(ChatUpload, chat_id)

    async def save_upload(self, upload: ChatUpload) -> None:
        await self.session.merge(upload)
        await self.session.flush()

    async def delete_upload(self, chat_id: uuid.UUID) -> bool:
        """Drop the chat's upload; False when there was none (taken by another delivery)."""
        result = await self.session.execute(
            delete(ChatUpload).where(ChatUpload.chat_id == chat_id).returning(ChatUpload.chat_id)
        )
        return result.first() is not None

    async def message_stats(self, chat_id: uuid.UUID) -> tuple[datetime | None, datetime | None]:
        first, last = (
            await self.session.execute(
                select(func.min(ChatMessage.sent_at), func.max(ChatMessage.sent_at)).where(
                    ChatMessage.chat_id == chat_id
                )
            )
        ).one()
        return first, last
