"""The mechanics of bringing an export in: parse (with limits), claim, store or merge, stage a
worker job, run it with progress, fail it, and sweep the ones that died.

An import is all or nothing: the chat's messages are COPYed in the same transaction that
marks it `ready`; a job that fails marks the chat `failed` with the reason and no messages.
A merge (an export into an existing chat) adds only what the chat lacks, in one transaction
that holds the chat's row lock (during a request) or the chat's upload while the chat is
`importing` (a worker's job: appends and other merges are refused meanwhile), and leaves the
chat `ready` whatever happens to it.
"""

import asyncio
import gc
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from src.chats.exceptions import (
    ChatNotReady,
    ExportTooLarge,
    InvalidExport,
    InvalidMessages,
    TooManyMessages,
)
from src.chats.merging import epoch, plan_merge
from src.chats.models import Chat, ChatStatus, ChatUpload, UploadMode
from src.chats.parsers import ChatFormat, DateOrder, ExportError, ParsedChat, ParsedMessage
from src.chats.parsers import parse_export as parse_bytes
from src.chats.parsers.base import ProgressFn, UnpackedTooLarge
from src.chats.parsers.decoding import unpacked_size
from src.chats.repository import ChatRepository
from src.config import get_settings
from src.database import get_async_db_transaction
from src.database_utils import UNIQUE_VIOLATION, execute_in_transaction, sqlstate_of
from src.exceptions import NotFoundError
from src.insights import service as insights_service
from src.logging import get_logger
from src.outbox import service as outbox
from src.rag import indexing as rag_indexing
from src.task_queue import IMPORT_TASK

log = get_logger(__name__)

# IMPORT_TASK, and INDEX_TASK: staged (through the outbox) whenever a chat gains messages,
# run by the RAG indexer. Both are bulk work: their names live with the queues' routing.
# Storing runs at READ COMMITTED: the progress reporter updates the chat row from another
# connection meanwhile, and the final conditional UPDATE must not fail with 40001 for it.
STORE_ISOLATION = "READ COMMITTED"
SENDER_MAX = 200  # the column's length
PROGRESS_INTERVAL_SECONDS = 0.5  # at most one progress write per this many seconds


class JobOutcome(StrEnum):
    IMPORTED = "imported"
    MERGED = "merged"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ImportRequest:
    data: bytes
    filename: str | None
    title: str | None
    timezone: str
    format: ChatFormat | None
    date_order: DateOrder | None = None


@dataclass(frozen=True)
class MergeCounts:
    added: int
    already_present: int


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while an export's messages, rows or merge tables are
    built: they are many, short-lived and make no cycles, so the collector would only walk
    them again and again (measured: a third to a half of parsing and planning 100,000
    messages). Nested and concurrent pauses (threads) share one: the collector comes back
    when the last one ends; memory is still freed by reference counting meanwhile."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def unpacked(request: ImportRequest) -> int:
    """The export's size once unpacked (decides inline or worker); 413 past MAX_UPLOAD_MB."""
    limit_mb = get_settings().max_upload_mb
    try:
        size = unpacked_size(request.data, request.format)
    except ExportError as exc:
        raise InvalidExport(str(exc)) from exc
    if size > limit_mb * 1024 * 1024:
        raise ExportTooLarge(size, limit_mb)
    return size


def parse(request: ImportRequest, progress: ProgressFn | None = None) -> ParsedChat:
    """Parse and check an export (synchronous: run it off the event loop). Raises the
    domain's 4xx exceptions for anything the service will not store."""
    settings = get_settings()
    limit = settings.max_upload_mb * 1024 * 1024
    try:
        with gc_paused():
            parsed = parse_bytes(
                request.data,
                filename=request.filename,
                tz=request.timezone,
                format=request.format,
                progress=progress,
                max_unzipped_bytes=limit,
                date_order=request.date_order,
            )
    except UnpackedTooLarge as exc:
        raise ExportTooLarge(exc.unpacked, settings.max_upload_mb) from exc
    except ExportError as exc:
        raise InvalidExport(str(exc)) from exc
    check_messages(parsed.messages)
    return parsed


def check_messages(messages: Sequence[ParsedMessage]) -> None:
    """Refuse, naming the cap or the message, what cannot or must not be stored: too many
    messages, participants or characters, NUL bytes, names longer than the column, and times
    PostgreSQL cannot hold."""
    settings = get_settings()
    if len(messages) > settings.max_import_messages:
        raise TooManyMessages(len(messages), settings.max_import_messages)
    senders: set[str] = set()
    longest = settings.max_message_chars
    for number, message in enumerate(messages, start=1):
        text = message.text
        if len(text) > longest:
            raise InvalidMessages(
                f"Message {number} has {len(text)} characters, over the limit of {longest} "
                "(MAX_MESSAGE_CHARS)",
                problem="message_too_long",
                message_number=number,
                limit=longest,
                setting="MAX_MESSAGE_CHARS",
            )
        sender = message.sender
        if sender is not None and sender not in senders:
            if len(sender) > SENDER_MAX or "\x00" in sender:
                raise InvalidMessages(
                    f"Message {number}: the sender's name is longer than {SENDER_MAX} "
                    "characters or holds a NUL byte",
                    problem="invalid_sender",
                    message_number=number,
                    limit=SENDER_MAX,
                )
            senders.add(sender)
        if "\x00" in text or (message.forwarded_from and "\x00" in message.forwarded_from):
            raise InvalidMessages(
                f"Message {number} holds a NUL byte, which a chat message cannot contain",
                problem="nul_byte",
                message_number=number,
            )
        try:
            message.sent_at.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise InvalidMessages(
                f"Message {number} has a time that cannot be stored",
                problem="date_out_of_range",
                message_number=number,
            ) from exc
    if len(senders) > settings.max_participants:
        raise InvalidMessages(
            f"The export has {len(senders)} participants, over the limit of "
            f"{settings.max_participants} (MAX_PARTICIPANTS)",
            problem="too_many_participants",
            limit=settings.max_participants,
            setting="MAX_PARTICIPANTS",
        )


async def parse_off_loop(request: ImportRequest) -> ParsedChat:
    return await asyncio.to_thread(parse, request)


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


def ready_values(parsed: ParsedChat) -> dict[str, Any]:
    """The chat row's values once an export's messages are stored."""
    return {
        **summary(parsed.messages),
        "status": ChatStatus.READY,
        "source_format": parsed.format.value,
        **rag_indexing.QUEUED,
        "import_progress": 1.0,
        "imported_at": datetime.now(UTC),
        "error": None,
        "date_order": parsed.date_order.value if parsed.date_order else None,
        "date_order_source": parsed.date_order_source.value if parsed.date_order_source else None,
        "time_precision": parsed.time_precision,
    }


def _json(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value else None


def _row(
    chat_id: uuid.UUID, message: ParsedMessage, seq: int, reply_to_id: int | None
) -> tuple[Any, ...]:
    """The `MESSAGE_COLUMNS` of a message, in order."""
    attachment = message.attachment
    reactions = [
        {"emoji": r.emoji, "count": r.count, "senders": list(r.senders)} for r in message.reactions
    ]
    return (
        chat_id,
        seq,
        message.sender,
        message.sent_at,
        message.text,
        message.kind.value,
        message.edited,
        message.forwarded_from[:SENDER_MAX] if message.forwarded_from else None,
        reply_to_id,
        json.dumps(reactions, ensure_ascii=False) if reactions else None,
        attachment.kind.value if attachment else None,
        attachment.file_name[:255] if attachment and attachment.file_name else None,
    )


async def store_messages(
    session: AsyncSession,
    chat_id: uuid.UUID,
    messages: Sequence[ParsedMessage],
    placed: Sequence[tuple[int, int]],
    *,
    matched: dict[int, int] | None = None,
    after_batch: Callable[[int], Awaitable[None]] | None = None,
) -> None:
    """COPY the export's messages `placed` as (position, index in `messages`) into the chat,
    resolving replies (an index in `messages`) to the id of a message stored here: one of
    this batch (ids are then allocated before the COPY) or one the chat holds (`matched`)."""
    matched = matched or {}
    storing = {index for _, index in placed}
    ids: dict[int, int] = {}
    if any(messages[i].reply_to in storing for i in storing):
        repository = ChatRepository(session)
        allocated = await repository.allocate_message_ids(len(placed))
        ids = {index: new_id for (_, index), new_id in zip(placed, allocated, strict=True)}

    def reply_id(index: int) -> int | None:
        target = messages[index].reply_to
        if target is None:
            return None
        return ids.get(target) or matched.get(target)

    with gc_paused():  # many new tuples, no cycles
        rows = [
            (
                (ids[index], *_row(chat_id, messages[index], seq, reply_id(index)))
                if ids
                else _row(chat_id, messages[index], seq, reply_id(index))
            )
            for seq, index in placed
        ]
    await ChatRepository(session).copy_messages(
        rows,
        with_ids=bool(ids),
        batch=get_settings().import_copy_batch,
        after_batch=after_batch,
    )


async def claim(
    session: AsyncSession, user_id: uuid.UUID, sha256: str, values: dict[str, Any]
) -> tuple[Chat, bool]:
    """The live chat for these bytes, created as `importing`; True when this caller now owns
    the import (new, or taking over one that failed)."""
    repository = ChatRepository(session)
    chat, created = await repository.create_for_source(user_id, sha256, values)
    if created:
        return chat, True
    if chat.status != ChatStatus.FAILED:
        return chat, False
    locked = await repository.lock(chat.id, wait_ms=get_settings().lock_wait_ms)
    if locked is None or locked.status != ChatStatus.FAILED:
        return chat, False
    locked.status = ChatStatus.IMPORTING
    locked.error = None
    locked.import_progress = 0.0
    await repository.delete_messages(locked.id)
    await session.flush()
    return locked, True


def new_chat_values(request: ImportRequest, title: str | None) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "title": (request.title or title or request.filename or "Imported chat")[:200],
        "source_format": request.format or "unknown",
        "source_filename": request.filename[:255] if request.filename else None,
        "timezone": request.timezone,
        "status": ChatStatus.IMPORTING,
        "import_progress": 0.0,
        "participants": [],
        "message_count": 0,
    }


async def store_new(
    session: AsyncSession,
    user_id: uuid.UUID,
    sha256: str,
    request: ImportRequest,
    parsed: ParsedChat,
) -> tuple[Chat, bool]:
    """Store a parsed export as a new chat, in the caller's unit of work: (chat, False) when
    another upload of the same bytes owns it."""
    chat, owned = await claim(session, user_id, sha256, new_chat_values(request, parsed.title))
    if not owned:
        return chat, False
    await store_messages(
        session, chat.id, parsed.messages, [(i + 1, i) for i in range(len(parsed.messages))]
    )
    for key, value in ready_values(parsed).items():
        setattr(chat, key, value)
    await rag_indexing.queue(session, chat)
    await session.flush()
    log.info("chat.imported", chat_id=str(chat.id), messages=len(parsed.messages))
    return chat, True


async def merge_into(
    session: AsyncSession,
    chat: Chat,
    parsed: ParsedChat,
    *,
    after_batch: Callable[[int], Awaitable[None]] | None = None,
) -> MergeCounts:
    """Add to a locked chat what the parsed export holds and the chat lacks (see
    `src.chats.merging`), keeping positions in time order; stage indexing of the added
    messages and mark the chat's earlier insights stale."""
    repository = ChatRepository(session)
    precision = max(chat.time_precision, parsed.time_precision)
    # Only the chat's tail from the export's first moment on can match or move.
    earliest = min((m.sent_at for m in parsed.messages), default=None)
    since = (
        datetime.fromtimestamp(epoch(earliest) // precision * precision, UTC)
        if earliest is not None
        else datetime.max.replace(tzinfo=UTC)
    )
    covered = (
        (chat.first_message_at, chat.last_message_at)
        if chat.first_message_at and chat.last_message_at
        else None
    )
    with gc_paused():  # reading and planning make many short-lived tuples
        start, stored = await repository.stored_tail(chat.id, since, chat.message_count + 1)
        plan = plan_merge(
            stored, parsed.messages, precision=precision, start=start, covered=covered
        )
    if plan.added:
        # The chat row is written only after the COPY: a worker's progress reports (other
        # transactions on that row) are never kept waiting behind this one.
        await repository.move_messages(chat.id, plan.moved)
        renamed = list(parsed.messages)
        if plan.renamed:  # the chat's names for the people the export names otherwise
            for _, index in plan.added:
                message = renamed[index]
                if message.sender in plan.renamed:
                    renamed[index] = replace(message, sender=plan.renamed[message.sender])
        await store_messages(
            session,
            chat.id,
            renamed,
            plan.added,
            matched=plan.matched,
            after_batch=after_batch,
        )
        added = [renamed[index] for _, index in plan.added]
        times = [m.sent_at for m in added]
        chat.message_count += len(added)
        chat.participants = list(
            dict.fromkeys([*chat.participants, *summary(added)["participants"]])
        )
        chat.first_message_at = min([*times, *filter(None, [chat.first_message_at])])
        chat.last_message_at = max([*times, *filter(None, [chat.last_message_at])])
        chat.time_precision = precision
        await rag_indexing.queue(session, chat)
        await insights_service.mark_stale(session, chat.id)
    chat.last_merge_added = len(plan.added)
    chat.last_merge_already_present = plan.already_present
    chat.last_merged_at = datetime.now(UTC)
    chat.error = None
    await session.flush()
    log.info(
        "chat.merged",
        chat_id=str(chat.id),
        added=len(plan.added),
        already_present=plan.already_present,
        moved=len(plan.moved),
        renamed=len(plan.renamed),
    )
    return MergeCounts(len(plan.added), plan.already_present)


async def lock_for_merge(session: AsyncSession, user_id: uuid.UUID, chat_id: uuid.UUID) -> Chat:
    """The user's chat, locked and ready to take messages: 404 / 409 otherwise."""
    chat = await ChatRepository(session).lock(chat_id, wait_ms=get_settings().lock_wait_ms)
    if chat is None or chat.user_id != user_id:
        raise NotFoundError("Chat")
    if chat.status != ChatStatus.READY:
        raise ChatNotReady()
    return chat


async def stage_job(
    session: AsyncSession, chat: Chat, request: ImportRequest, mode: UploadMode
) -> None:
    """Queue a worker job for the export, with its bytes, in the caller's transaction:
    committed means it will run."""
    chat.import_attempts = 0
    await outbox.stage(session, IMPORT_TASK, str(chat.id))
    await ChatRepository(session).save_upload(
        ChatUpload(
            chat_id=chat.id,
            data=request.data,
            filename=request.filename,
            requested_title=request.title,
            requested_format=request.format.value if request.format else None,
            mode=mode,
            timezone=request.timezone,
            date_order=request.date_order.value if request.date_order else None,
        )
    )


class ProgressReporter:
    """Writes an import's progress to its chat row, in short transactions of its own, at most
    every `interval` seconds (the row is read by `GET /chats/{id}`; the write also shows the
    sweeper that the job is alive)."""

    def __init__(self, chat_id: uuid.UUID, interval: float | None = None) -> None:
        self.chat_id = chat_id
        self.interval = PROGRESS_INTERVAL_SECONDS if interval is None else interval
        self.last = 0.0

    async def report(self, fraction: float, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        async with get_async_db_transaction() as session:
            await ChatRepository(session).set_progress(self.chat_id, round(fraction, 3))


class _NotImporting(Exception):
    pass


async def run_import(chat_id: uuid.UUID) -> JobOutcome:
    """The worker's import job: parse the stored upload off the loop, then store (a new chat)
    or merge (into an existing one) in one transaction that also ends the job. Idempotent: a
    chat that is not `importing` any more (done, failed, or deleted) is left alone."""
    async with get_async_db_transaction() as session:
        repository = ChatRepository(session)
        upload = await repository.get_upload(chat_id)
        chat = await repository.start_import_attempt(chat_id) if upload else None
    if chat is None or upload is None:
        log.info("chat.import_skipped", chat_id=str(chat_id))
        return JobOutcome.SKIPPED

    reporter = ProgressReporter(chat_id)
    request = ImportRequest(
        data=upload.data,
        filename=upload.filename,
        title=upload.requested_title,
        timezone=upload.timezone or chat.timezone,
        format=ChatFormat(upload.requested_format) if upload.requested_format else None,
        date_order=DateOrder(upload.date_order) if upload.date_order else None,
    )
    merging = upload.mode == UploadMode.MERGE
    try:
        parsed = await _parse_with_progress(request, reporter)
    except (InvalidExport, InvalidMessages, TooManyMessages, ExportTooLarge) as exc:
        await fail_import(chat_id, exc.message, merge=merging)
        return JobOutcome.FAILED
    total = max(1, len(parsed.messages))

    async def stored(count: int) -> None:
        await reporter.report(0.5 + 0.5 * count / total)

    async def store(session: AsyncSession) -> JobOutcome:
        repository = ChatRepository(session)
        # Taking the upload is the claim: a second delivery of this job waits on its row,
        # then finds it gone. The chat row is not locked here, so progress can still be
        # written meanwhile; appends and merges refuse a chat that is `importing`.
        if not await repository.delete_upload(chat_id):
            raise _NotImporting()
        chat = await repository.get(chat_id)
        if chat is None or chat.status != ChatStatus.IMPORTING:
            raise _NotImporting()  # deleted or finished meanwhile
        if merging:
            await merge_into(session, chat, parsed, after_batch=stored)
            chat.status = ChatStatus.READY
            chat.import_progress = 1.0
            await session.flush()
            return JobOutcome.MERGED
        await store_messages(
            session,
            chat_id,
            parsed.messages,
            [(i + 1, i) for i in range(len(parsed.messages))],
            after_batch=stored,
        )
        values = ready_values(parsed)
        if upload.requested_title is None and parsed.title:
            values["title"] = parsed.title[:200]
        if not await repository.finish_import(chat_id, values):
            raise _NotImporting()
        await rag_indexing.stage(session, chat_id)
        return JobOutcome.IMPORTED

    try:
        outcome = await execute_in_transaction(store, isolation_level=STORE_ISOLATION)
    except _NotImporting:
        return JobOutcome.SKIPPED
    except (InvalidMessages, TooManyMessages) as exc:
        await fail_import(chat_id, exc.message, merge=merging)
        return JobOutcome.FAILED
    except Exception as exc:
        if sqlstate_of(exc) == UNIQUE_VIOLATION:
            return JobOutcome.SKIPPED  # another delivery of this job stored it first
        raise
    if outcome is JobOutcome.IMPORTED:
        log.info("chat.imported", chat_id=str(chat_id), messages=len(parsed.messages))
    return outcome


async def _parse_with_progress(request: ImportRequest, reporter: ProgressReporter) -> ParsedChat:
    latest = [0.0]

    def on_progress(fraction: float) -> None:
        latest[0] = fraction

    parsing = asyncio.create_task(asyncio.to_thread(parse, request, on_progress))
    while not parsing.done():
        await asyncio.wait({parsing}, timeout=reporter.interval)
        await reporter.report(0.5 * latest[0])
    return parsing.result()


async def fail_import(chat_id: uuid.UUID, reason: str, *, merge: bool | None = None) -> None:
    """End an import job that will not finish, with its reason, and drop its upload: a new
    chat becomes `failed` with no messages; a chat that a merge was feeding goes back to
    `ready` as it was, with the reason in `error`. `merge=None` reads it from the upload."""
    async with get_async_db_transaction() as session:
        repository = ChatRepository(session)
        if merge is None:
            upload = await repository.get_upload(chat_id)
            merge = upload is not None and upload.mode == UploadMode.MERGE
        status = ChatStatus.READY if merge else ChatStatus.FAILED
        error = f"The merge failed: {reason}" if merge else reason
        await repository.finish_import(
            chat_id,
            {
                "status": status,
                "error": error[:1000],
                "import_progress": 1.0 if merge else None,
            },
        )
        await repository.delete_upload(chat_id)
    log.warning("chat.import_failed", chat_id=str(chat_id), reason=reason, merge=merge)


async def sweep_stalled(now: datetime | None = None) -> dict[str, int]:
    """Deal with the import jobs that stopped writing progress `IMPORT_STALL_SECONDS` ago (a
    worker killed, a task lost with its broker, a time limit): send again the ones that still
    have their upload and have run fewer than `IMPORT_MAX_ATTEMPTS` times (an import resumes
    from the stored upload, and a second delivery finds the upload taken), fail the others
    with that reason."""
    settings = get_settings()
    before = (now or datetime.now(UTC)) - timedelta(seconds=settings.import_stall_seconds)
    async with get_async_db_transaction() as session:
        repository = ChatRepository(session)
        stalled = await repository.stalled_imports(before)
        resend = [
            s.chat_id
            for s in stalled
            if s.mode is not None and s.attempts < settings.import_max_attempts
        ]
        for chat_id in resend:
            await outbox.stage(session, IMPORT_TASK, str(chat_id))
        await repository.touch(resend)
    # fail_import changes only a chat still `importing`: two sweeps at once are harmless.
    for job in stalled:
        if job.chat_id in resend:
            continue
        await fail_import(
            job.chat_id,
            f"The import stopped without finishing after {job.attempts} attempt(s) (its "
            "worker was lost or timed out)",
            merge=job.mode == UploadMode.MERGE,
        )
    counts = {"resent": len(resend), "failed": len(stalled) - len(resend)}
    if stalled:
        log.warning("chat.imports_swept", **counts)
    return counts
