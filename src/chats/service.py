"""Chats, the request side: imports and merges of exports (parsed during the request when
small, handed to a worker when large: see `src.chats.importing` for the mechanics),
frontend-fed chats and their messages, delete / restore / purge.

The same file uploaded twice by one user is one chat, decided by the unique index on
(user_id, source_sha256) among live chats, not by a prior read.
"""

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from src.chats import importing
from src.chats.exceptions import ChatNotReady, RestoreConflict, RestoreExpired, UnknownTimezone
from src.chats.importing import ImportRequest, MergeCounts
from src.chats.models import API_SOURCE, Chat, ChatStatus, UploadMode
from src.chats.parsers import MessageKind, ParsedMessage
from src.chats.repository import ChatRepository, message_by_id
from src.chats.schemas import MessageIn
from src.config import get_settings
from src.database import get_async_db_transaction
from src.database_utils import UNIQUE_VIOLATION, execute_in_transaction, sqlstate_of
from src.exceptions import NotFoundError
from src.insights import service as insights_service
from src.logging import get_logger
from src.rag import indexing as rag_indexing

log = get_logger(__name__)


class ImportOutcome(StrEnum):
    IMPORTED = "imported"
    QUEUED = "queued"
    DUPLICATE = "duplicate"


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimezone(name) from exc
    return name


async def create_empty(session: AsyncSession, user_id: uuid.UUID, title: str, tz: str) -> Chat:
    chat = Chat(
        user_id=user_id,
        title=title,
        source_format=API_SOURCE,
        timezone=check_timezone(tz),
        status=ChatStatus.READY,
        participants=[],
        **rag_indexing.NOTHING_TO_INDEX,
    )
    return await ChatRepository(session).add(chat)


def _inline(request: ImportRequest) -> bool:
    """Parse during the request, or hand to a worker: decided on the unpacked size."""
    return importing.unpacked(request) <= get_settings().import_inline_max_bytes


async def import_export(user_id: uuid.UUID, request: ImportRequest) -> tuple[Chat, ImportOutcome]:
    """Import an uploaded export: parsed now when small, queued for a worker when large, or
    the existing chat when this user already imported the same bytes."""
    check_timezone(request.timezone)
    sha256 = hashlib.sha256(request.data).hexdigest()
    # A cheap early answer for the common repeat; the unique index still decides races.
    async with get_async_db_transaction() as session:
        existing = await ChatRepository(session).live_by_source(user_id, sha256)
    if existing is not None and existing.status != ChatStatus.FAILED:
        return existing, ImportOutcome.DUPLICATE

    if _inline(request):
        parsed = await importing.parse_off_loop(request)
        chat, owned = await execute_in_transaction(
            lambda session: importing.store_new(session, user_id, sha256, request, parsed)
        )
        return chat, ImportOutcome.IMPORTED if owned else ImportOutcome.DUPLICATE

    async def stage(session: AsyncSession) -> tuple[Chat, bool]:
        values = importing.new_chat_values(request, None)
        chat, owned = await importing.claim(session, user_id, sha256, values)
        if owned:
            await importing.stage_job(session, chat, request, UploadMode.IMPORT)
        return chat, owned

    chat, queued = await execute_in_transaction(stage)
    if not queued:
        return chat, ImportOutcome.DUPLICATE
    log.info("chat.import_queued", chat_id=str(chat.id), bytes=len(request.data))
    return chat, ImportOutcome.QUEUED


async def merge_export(
    user_id: uuid.UUID, chat_id: uuid.UUID, request: ImportRequest
) -> tuple[Chat, MergeCounts | None]:
    """Merge a newer (or the other participant's) export into the user's chat: the counts
    when done during the request, None when queued for a worker (the chat then reports
    progress and, once `ready` again, the counts). The export's times are read in the
    chat's zone unless the request names one."""
    async with get_async_db_transaction() as session:
        chat = await ChatRepository(session).get_owned(chat_id, user_id)
    if chat is None:
        raise NotFoundError("Chat")
    if chat.status != ChatStatus.READY:
        raise ChatNotReady()
    if not request.timezone:
        request = replace(request, timezone=chat.timezone)
    check_timezone(request.timezone)

    if _inline(request):
        parsed = await importing.parse_off_loop(request)  # no connection held meanwhile

        async def merge(session: AsyncSession) -> tuple[Chat, MergeCounts]:
            locked = await importing.lock_for_merge(session, user_id, chat_id)
            return locked, await importing.merge_into(session, locked, parsed)

        return await execute_in_transaction(merge, isolation_level=importing.STORE_ISOLATION)

    async def stage(session: AsyncSession) -> Chat:
        locked = await importing.lock_for_merge(session, user_id, chat_id)
        locked.status = ChatStatus.IMPORTING
        locked.import_progress = 0.0
        locked.error = None
        await importing.stage_job(session, locked, request, UploadMode.MERGE)
        await session.flush()
        return locked

    chat = await execute_in_transaction(stage)
    log.info("chat.merge_queued", chat_id=str(chat.id), bytes=len(request.data))
    return chat, None


async def update_title(session: AsyncSession, chat: Chat, title: str) -> Chat:
    chat.title = title
    await session.flush()
    return chat


async def soft_delete(session: AsyncSession, chat: Chat) -> None:
    chat.mark_deleted()
    await session.flush()
    log.info("chat.deleted", chat_id=str(chat.id))


async def restore(user_id: uuid.UUID, chat_id: uuid.UUID) -> Chat:
    """Bring back a chat deleted within the retention period. 409 when a live chat imported
    the same file since (the unique index would refuse the restore)."""
    retention = timedelta(days=get_settings().soft_delete_retention_days)

    async def unit(session: AsyncSession) -> Chat:
        chat = await ChatRepository(session).get_owned_deleted(chat_id, user_id)
        if chat is None:
            raise NotFoundError("Chat")
        if chat.deleted_at is not None and chat.deleted_at < datetime.now(UTC) - retention:
            raise RestoreExpired()
        chat.mark_restored()
        try:
            await session.flush()
        except Exception as exc:
            if sqlstate_of(exc) == UNIQUE_VIOLATION:
                raise RestoreConflict() from exc
            raise
        return chat

    return await execute_in_transaction(unit)


async def read_message(chat_id: uuid.UUID, message_id: int) -> Row[Any]:
    """One message of a chat whose owner the caller has checked; 404 when the chat has no
    message with that id."""
    message = await message_by_id(chat_id, message_id)
    if message is None:
        raise NotFoundError("Message")
    return message


async def append_messages(
    user_id: uuid.UUID, chat_id: uuid.UUID, batch: Sequence[MessageIn]
) -> tuple[Chat, int]:
    """Append a frontend's messages in order after the chat's last one: `(chat, first_seq)`.
    The chat row's lock serialises concurrent appends (and merges), so positions never
    collide. The chat's earlier insights become stale."""
    parsed = [
        ParsedMessage(sender=m.sender, sent_at=m.sent_at, text=m.text, kind=MessageKind(m.kind))
        for m in batch
    ]
    importing.check_messages(parsed)

    async def unit(session: AsyncSession) -> tuple[Chat, int]:
        repository = ChatRepository(session)
        chat = await repository.lock(chat_id, wait_ms=get_settings().lock_wait_ms)
        if chat is None or chat.user_id != user_id:
            raise NotFoundError("Chat")
        if chat.status != ChatStatus.READY:
            raise ChatNotReady()
        first_seq = chat.message_count + 1
        await importing.store_messages(
            session, chat.id, parsed, [(first_seq + i, i) for i in range(len(parsed))]
        )
        counts = importing.summary(parsed)
        chat.message_count += len(parsed)
        chat.participants = list(dict.fromkeys([*chat.participants, *counts["participants"]]))
        chat.first_message_at = min(
            filter(None, [counts["first_message_at"], chat.first_message_at])
        )
        chat.last_message_at = max(filter(None, [counts["last_message_at"], chat.last_message_at]))
        await rag_indexing.queue(session, chat)
        await insights_service.mark_stale(session, chat.id)
        await session.flush()
        return chat, first_seq

    return await execute_in_transaction(unit, isolation_level=importing.STORE_ISOLATION)


async def purge_deleted(session: AsyncSession, *, now: datetime | None = None) -> list[uuid.UUID]:
    """Delete for good the chats soft-deleted past the retention period, with their messages,
    chunks and embeddings through the foreign keys; their ids (answers that quote them are
    the RAG side's to forget: `rag.service.forget_chats`)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=get_settings().soft_delete_retention_days)
    purged = await ChatRepository(session).delete_soft_deleted_before(cutoff)
    if purged:
        log.info("chats.purged", count=len(purged), cutoff=cutoff.isoformat())
    return purged
