"""Chats: imports of exports (inline or as a worker job), frontend-fed chats, and messages.

An import is all or nothing: the chat's messages are COPYed in the same transaction that
marks it `ready`; a job that fails marks the chat `failed` with the reason and no messages.
The same file uploaded twice by one user is one chat, decided by the unique index on
(user_id, source_sha256) among live chats, not by a prior read.
"""

import asyncio
import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from src.chats.exceptions import (
    ChatNotReady,
    InvalidExport,
    RestoreConflict,
    RestoreExpired,
    UnknownTimezone,
)
from src.chats.models import API_SOURCE, Chat, ChatStatus, ChatUpload
from src.chats.parsers import (
    ChatFormat,
    ExportError,
    MessageKind,
    ParsedChat,
    ParsedMessage,
    parse_export,
)
from src.chats.repository import ChatRepository
from src.chats.schemas import MessageIn
from src.config import get_settings
from src.database import get_async_db_transaction
from src.database_utils import (
    UNIQUE_VIOLATION,
    execute_in_transaction,
    sqlstate_of,
    upsert_or_create,
)
from src.exceptions import NotFoundError
from src.logging import get_logger
from src.outbox import service as outbox

log = get_logger(__name__)

IMPORT_TASK = "chatsight.chats.import"
# Staged (through the outbox) whenever a chat gains messages; run by the RAG indexer.
INDEX_TASK = "chatsight.rag.index_chat"
# Storing runs at READ COMMITTED: the progress reporter updates the chat row from another
# connection meanwhile, and the final conditional UPDATE must not fail with 40001 for it.
STORE_ISOLATION = "READ COMMITTED"
LIVE = text("NOT is_deleted")


class ImportOutcome(StrEnum):
    IMPORTED = "imported"
    QUEUED = "queued"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class ImportRequest:
    data: bytes
    filename: str | None
    title: str | None
    timezone: str
    format: ChatFormat | None


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimezone(name) from exc
    return name


def summary(messages: Sequence[ParsedMessage]) -> dict[str, Any]:
    """Count, participants and time range of a parsed chat, for its row."""
    senders = dict.fromkeys(m.sender for m in messages if m.sender)
    times = [m.sent_at for m in messages]
    return {
        "message_count": len(messages),
        "participants": list(senders),
        "first_message_at": min(times).astimezone(UTC) if times else None,
        "last_message_at": max(times).astimezone(UTC) if times else None,
    }


async def create_empty(session: AsyncSession, user_id: uuid.UUID, title: str, tz: str) -> Chat:
    chat = Chat(
        user_id=user_id,
        title=title,
        source_format=API_SOURCE,
        timezone=check_timezone(tz),
        status=ChatStatus.READY.value,
        participants=[],
        index_status="ready",  # nothing to index until messages arrive
    )
    return await ChatRepository(session).add(chat)


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

    if len(request.data) <= get_settings().import_inline_max_bytes:
        parsed = await _parse_off_loop(request)
        return await execute_in_transaction(
            lambda session: _store_inline(session, user_id, sha256, request, parsed)
        )
    chat, queued = await execute_in_transaction(
        lambda session: _stage_job(session, user_id, sha256, request)
    )
    if not queued:
        return chat, ImportOutcome.DUPLICATE
    log.info("chat.import_queued", chat_id=str(chat.id), bytes=len(request.data))
    return chat, ImportOutcome.QUEUED


async def _parse_off_loop(request: ImportRequest) -> ParsedChat:
    try:
        return await run_in_threadpool(
            parse_export,
            request.data,
            filename=request.filename,
            tz=request.timezone,
            format=request.format,
        )
    except ExportError as exc:
        raise InvalidExport(str(exc)) from exc


def _new_chat_values(request: ImportRequest, title: str | None) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "title": (request.title or title or request.filename or "Imported chat")[:200],
        "source_format": (request.format or "unknown"),
        "source_filename": request.filename[:255] if request.filename else None,
        "timezone": request.timezone,
        "status": ChatStatus.IMPORTING.value,
        "import_progress": 0.0,
        "participants": [],
        "message_count": 0,
    }


async def _claim(
    session: AsyncSession, user_id: uuid.UUID, sha256: str, values: dict[str, Any]
) -> tuple[Chat, bool]:
    """The live chat for these bytes, created as `importing`; True when this caller now owns
    the import (new, or taking over one that failed)."""
    chat, created = await upsert_or_create(
        session,
        Chat,
        {"user_id": user_id, "source_sha256": sha256},
        values,
        index_where=LIVE,
    )
    if created:
        return chat, True
    if chat.status != ChatStatus.FAILED:
        return chat, False
    locked = await ChatRepository(session).lock(chat.id, wait_ms=get_settings().lock_wait_ms)
    if locked is None or locked.status != ChatStatus.FAILED:
        return chat, False
    locked.status = ChatStatus.IMPORTING.value
    locked.error = None
    locked.import_progress = 0.0
    await ChatRepository(session).delete_messages(locked.id)
    await session.flush()
    return locked, True


async def _store_inline(
    session: AsyncSession,
    user_id: uuid.UUID,
    sha256: str,
    request: ImportRequest,
    parsed: ParsedChat,
) -> tuple[Chat, ImportOutcome]:
    values = _new_chat_values(request, parsed.title)
    values["source_format"] = parsed.format.value
    chat, owned = await _claim(session, user_id, sha256, values)
    if not owned:
        return chat, ImportOutcome.DUPLICATE
    repository = ChatRepository(session)
    await repository.copy_messages(
        chat.id, parsed.messages, first_seq=1, batch=get_settings().import_copy_batch
    )
    for key, value in _ready_values(parsed).items():
        setattr(chat, key, value)
    chat.source_format = parsed.format.value
    await session.flush()
    await outbox.stage(session, INDEX_TASK, str(chat.id))
    log.info("chat.imported", chat_id=str(chat.id), messages=len(parsed.messages))
    return chat, ImportOutcome.IMPORTED


def _ready_values(parsed: ParsedChat) -> dict[str, Any]:
    return {
        **summary(parsed.messages),
        "status": ChatStatus.READY.value,
        "index_status": "pending",
        "import_progress": 1.0,
        "imported_at": datetime.now(UTC),
        "error": None,
    }


async def _stage_job(
    session: AsyncSession, user_id: uuid.UUID, sha256: str, request: ImportRequest
) -> tuple[Chat, bool]:
    chat, owned = await _claim(session, user_id, sha256, _new_chat_values(request, None))
    if owned:
        # Staged with the upload in one transaction: committed means it will run.
        await outbox.stage(session, IMPORT_TASK, str(chat.id))
        await ChatRepository(session).save_upload(
            ChatUpload(
                chat_id=chat.id,
                data=request.data,
                filename=request.filename,
                requested_title=request.title,
                requested_format=request.format.value if request.format else None,
            )
        )
    return chat, owned


class _NotImporting(Exception):
    pass


class ProgressReporter:
    """Writes an import's progress to its chat row, in short transactions of its own, at most
    every `interval` seconds (the row is read by `GET /chats/{id}`)."""

    def __init__(self, chat_id: uuid.UUID, interval: float = 0.5) -> None:
        self.chat_id = chat_id
        self.interval = interval
        self.last = 0.0

    async def report(self, fraction: float, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        async with get_async_db_transaction() as session:
            await ChatRepository(session).set_progress(self.chat_id, round(fraction, 3))


async def run_import(chat_id: uuid.UUID) -> str:
    """The worker's import job: parse the stored upload off the loop, then store every
    message and mark the chat ready in one transaction. Idempotent: a chat that is not
    `importing` any more (done, failed, or deleted) is left alone."""
    async with get_async_db_transaction() as session:
        chat = await ChatRepository(session).get(chat_id)
        upload = await ChatRepository(session).get_upload(chat_id) if chat else None
    if chat is None or chat.status != ChatStatus.IMPORTING or upload is None:
        log.info("chat.import_skipped", chat_id=str(chat_id))
        return "skipped"

    reporter = ProgressReporter(chat_id)
    request = ImportRequest(
        data=upload.data,
        filename=upload.filename,
        title=None,
        timezone=chat.timezone,
        format=ChatFormat(upload.requested_format) if upload.requested_format else None,
    )
    try:
        parsed = await _parse_with_progress(request, reporter)
    except ExportError as exc:
        await fail_import(chat_id, str(exc))
        return "failed"

    batch = get_settings().import_copy_batch
    total = max(1, len(parsed.messages))

    async def store(session: AsyncSession) -> None:
        repository = ChatRepository(session)
        await repository.delete_upload(chat_id)  # also opens the transaction before COPY

        async def stored(count: int) -> None:
            await reporter.report(0.5 + 0.5 * count / total)

        await repository.copy_messages(
            chat_id, parsed.messages, first_seq=1, batch=batch, after_batch=stored
        )
        values = _ready_values(parsed)
        values["source_format"] = parsed.format.value
        if upload.requested_title is None and parsed.title:
            values["title"] = parsed.title[:200]
        if not await repository.finish_import(chat_id, values):
            raise _NotImporting()  # roll back: the chat was deleted or finished meanwhile
        await outbox.stage(session, INDEX_TASK, str(chat_id))

    try:
        await execute_in_transaction(store, isolation_level=STORE_ISOLATION)
    except _NotImporting:
        return "skipped"
    except Exception as exc:
        if sqlstate_of(exc) == UNIQUE_VIOLATION:
            # Another delivery of this job stored the messages first.
            return "skipped"
        raise
    log.info("chat.imported", chat_id=str(chat_id), messages=len(parsed.messages))
    return "imported"


async def _parse_with_progress(request: ImportRequest, reporter: ProgressReporter) -> ParsedChat:
    latest = [0.0]

    def on_progress(fraction: float) -> None:
        latest[0] = fraction

    parsing = asyncio.create_task(
        asyncio.to_thread(
            parse_export,
            request.data,
            filename=request.filename,
            tz=request.timezone,
            format=request.format,
            progress=on_progress,
        )
    )
    while not parsing.done():
        await asyncio.wait({parsing}, timeout=reporter.interval)
        await reporter.report(0.5 * latest[0])
    return parsing.result()


async def fail_import(chat_id: uuid.UUID, reason: str) -> None:
    """Mark an import failed with its reason and drop its upload (no messages were kept)."""
    async with get_async_db_transaction() as session:
        repository = ChatRepository(session)
        await repository.finish_import(
            chat_id,
            {"status": ChatStatus.FAILED.value, "error": reason[:1000], "import_progress": None},
        )
        await repository.delete_upload(chat_id)
    log.warning("chat.import_failed", chat_id=str(chat_id), reason=reason)


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


async def append_messages(
    user_id: uuid.UUID, chat_id: uuid.UUID, batch: Sequence[MessageIn]
) -> tuple[Chat, int]:
    """Append a frontend's messages in order after the chat's last one: `(chat, first_seq)`.
    The chat row's lock serialises concurrent appends, so sequence numbers never collide."""

    async def unit(session: AsyncSession) -> tuple[Chat, int]:
        repository = ChatRepository(session)
        chat = await repository.lock(chat_id, wait_ms=get_settings().lock_wait_ms)
        if chat is None or chat.user_id != user_id:
            raise NotFoundError("Chat")
        if chat.status != ChatStatus.READY:
            raise ChatNotReady()
        first_seq = chat.message_count + 1
        parsed = [
            ParsedMessage(sender=m.sender, sent_at=m.sent_at, text=m.text, kind=MessageKind(m.kind))
            for m in batch
        ]
        await repository.copy_messages(
            chat.id, parsed, first_seq=first_seq, batch=get_settings().import_copy_batch
        )
        chat.message_count += len(parsed)
        chat.participants = list(
            dict.fromkeys([*chat.participants, *summary(parsed)["participants"]])
        )
        times = [m.sent_at for m in parsed]
        chat.first_message_at = min(
            [*times, *([chat.first_message_at] if chat.first_message_at else [])]
        )
        chat.index_status = "pending"
        await outbox.stage(session, INDEX_TASK, str(chat.id))
        chat.last_message_at = max(
            [*times, *([chat.last_message_at] if chat.last_message_at else [])]
        )
        await session.flush()
        return chat, first_seq

    return await execute_in_transaction(unit, isolation_level=STORE_ISOLATION)


async def purge_deleted(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete for good the chats soft-deleted past the retention period, with their
    messages (and, later, their chunks and embeddings) through the foreign keys."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=get_settings().soft_delete_retention_days)
    purged = await ChatRepository(session).delete_soft_deleted_before(cutoff)
    if purged:
        log.info("chats.purged", count=purged, cutoff=cutoff.isoformat())
    return purged
