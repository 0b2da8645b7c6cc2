import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update

from src.chats.models import MESSAGE_COLUMNS, Chat, ChatMessage, ChatStatus, ChatUpload
from src.chats.parsers import ParsedMessage
from src.database_utils import execute_with_lock_retry
from src.pagination import PageParams, keyset_page
from src.repository import Repository


class ChatRepository(Repository[Chat]):
    model = Chat

    async def page(self, user_id: uuid.UUID, params: PageParams) -> tuple[list[Chat], str | None]:
        return await keyset_page(
            self.session,
            select(Chat).where(Chat.user_id == user_id),
            [Chat.created_at, Chat.id],
            params,
            convert=[datetime.fromisoformat, uuid.UUID],
        )

    async def delete_soft_deleted_before(self, cutoff: datetime) -> int:
        # A Core DELETE: the soft-delete filter does not apply, which is the point here.
        result = await self.session.execute(
            delete(Chat).where(Chat.is_deleted.is_(True), Chat.deleted_at < cutoff),
            execution_options={"synchronize_session": False},
        )
        return int(getattr(result, "rowcount", 0) or 0)

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
        chat_id: uuid.UUID,
        messages: Sequence[ParsedMessage],
        *,
        first_seq: int,
        batch: int,
        after_batch: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        """COPY the messages into `chat_messages` in the session's open transaction, `batch`
        rows per call, numbering them from `first_seq`."""
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        # COPY outside a transaction would commit on its own: refuse rather than half-write.
        assert driver.is_in_transaction(), "copy_messages needs an open transaction"
        for start in range(0, len(messages), batch):
            chunk = messages[start : start + batch]
            records = [
                (chat_id, first_seq + start + offset, m.sender, m.sent_at, m.text, m.kind.value)
                for offset, m in enumerate(chunk)
            ]
            await driver.copy_records_to_table(
                "chat_messages", records=records, columns=MESSAGE_COLUMNS
            )
            if after_batch is not None:
                await after_batch(start + len(chunk))

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
        await self.session.execute(
            update(Chat)
            .where(Chat.id == chat_id, Chat.status == ChatStatus.IMPORTING.value)
            .values(import_progress=progress)
            .execution_options(synchronize_session=False)
        )

    async def get_upload(self, chat_id: uuid.UUID) -> ChatUpload | None:
        return await self.session.get(ChatUpload, chat_id)

    async def save_upload(self, upload: ChatUpload) -> None:
        await self.session.merge(upload)
        await self.session.flush()

    async def delete_upload(self, chat_id: uuid.UUID) -> None:
        await self.session.execute(delete(ChatUpload).where(ChatUpload.chat_id == chat_id))

    def messages_query(
        self,
        chat_id: uuid.UUID,
        *,
        since: datetime | None,
        until: datetime | None,
        sender: str | None,
        q: str | None,
    ) -> Select[Any]:
        statement = select(ChatMessage).where(ChatMessage.chat_id == chat_id)
        if since is not None:
            statement = statement.where(ChatMessage.sent_at >= since)
        if until is not None:
            statement = statement.where(ChatMessage.sent_at < until)
        if sender is not None:
            statement = statement.where(ChatMessage.sender == sender)
        if q:
            pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            statement = statement.where(ChatMessage.text.ilike(pattern, escape="\\"))
        return statement

    async def messages_page(
        self, statement: Select[Any], params: PageParams
    ) -> tuple[list[ChatMessage], str | None]:
        return await keyset_page(
            self.session, statement, [ChatMessage.seq], params, convert=[int], descending=False
        )

    async def message_stats(self, chat_id: uuid.UUID) -> tuple[datetime | None, datetime | None]:
        first, last = (
            await self.session.execute(
                select(func.min(ChatMessage.sent_at), func.max(ChatMessage.sent_at)).where(
                    ChatMessage.chat_id == chat_id
                )
            )
        ).one()
        return first, last
