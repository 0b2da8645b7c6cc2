"""AI conversations over a user's chats: questions answered from their own messages.

Asking holds a database connection only to read and to write: the question is stored, the
question is embedded (no connection), messages are retrieved (one short transaction), the
answer is generated (no connection), and the answer is stored. Nothing relevant found means
an answer that says so and cites nothing.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import structlog
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from src.chats.models import Chat
from src.config import get_settings
from src.database import get_async_db_transaction
from src.exceptions import InvalidInputError, NotFoundError, ServiceUnavailableError
from src.logging import get_logger
from src.pagination import PageParams
from src.rag import retrieval
from src.rag.answerers import AnswerError, Evidence, Turn, markers_used
from src.rag.answerers.registry import get_answerer
from src.rag.embeddings import Embedder, EmbeddingError, get_embedder
from src.rag.models import AIConversation, AIMessage
from src.rag.query import QueryPlan, plan_query, question_form
from src.rag.repository import ConversationRepository
from src.rag.retrieval import ChunkHit
from src.rag.schemas import (
    ConversationCreate,
    ConversationDetail,
    ConversationMessageRead,
    ConversationRead,
    QuestionCreate,
    citations_of,
)
from src.ratelimit import enforce

log = get_logger(__name__)


def to_read(conversation: AIConversation) -> ConversationRead:
    return ConversationRead(
        id=conversation.id,
        title=conversation.title,
        chat_ids=conversation.chat_ids,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
    )


def message_read(message: AIMessage) -> ConversationMessageRead:
    return ConversationMessageRead(
        id=message.id,
        role=message.role,
        content=message.content,
        citations=citations_of(message.citations),
        created_at=message.created_at,
    )


async def create_conversation(
    session: AsyncSession, user_id: uuid.UUID, data: ConversationCreate
) -> ConversationRead:
    chat_ids = list(dict.fromkeys(data.chat_ids))
    limit = get_settings().rag_max_chats_per_conversation
    if len(chat_ids) > limit:
        raise InvalidInputError(f"At most {limit} chats per conversation")
    repository = ConversationRepository(session)
    chats = await repository.live_owned_chats(user_id, chat_ids)
    if len(chats) != len(chat_ids):
        raise NotFoundError("Chat")
    title = data.title or ", ".join(chat.title for chat in chats)[:200]
    conversation = await repository.add(
        AIConversation(user_id=user_id, title=title, chat_ids=chat_ids)
    )
    return to_read(conversation)


async def get_detail(session: AsyncSession, conversation: AIConversation) -> ConversationDetail:
    messages = await ConversationRepository(session).messages(conversation.id)
    return ConversationDetail(
        **to_read(conversation).model_dump(), messages=[message_read(m) for m in messages]
    )


async def delete_conversation(session: AsyncSession, conversation: AIConversation) -> None:
    conversation.mark_deleted()
    await session.flush()


@dataclass
class Question:
    """A stored question, ready to be answered."""

    user_id: uuid.UUID
    conversation_id: uuid.UUID
    chat_ids: list[uuid.UUID]
    content: str
    filters: retrieval.Filters  # what the request asked for and what the question says
    history: list[Turn] = field(default_factory=list)
    search_text: str = ""  # what to search for: see `src/rag/query/`
    form: str = ""  # the search text's form, see `question_form`
    requested: retrieval.Filters = field(default_factory=retrieval.Filters)  # the request's


@dataclass(frozen=True)
class AskEvent:
    kind: str  # citations | token | done | error
    data: Any


def _reference_time(chats: Sequence[Chat]) -> datetime:
    """The "now" of the dates a question names: the latest message of the chats asked about,
    in its chat's time zone (so "last March" is the March before the chat's end)."""
    dated = [(chat.last_message_at, chat.timezone) for chat in chats if chat.last_message_at]
    if not dated:
        return datetime.now(UTC)
    latest, name = max(dated)
    try:
        zone: tzinfo = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return latest.astimezone(zone)


def _participants(chats: Sequence[Chat]) -> list[str]:
    return list(dict.fromkeys(name for chat in chats for name in chat.participants))


def _plan(
    content: str, chats: Sequence[Chat], participants: list[str], history: Sequence[AIMessage]
) -> QueryPlan:
    previous = next((m.content for m in reversed(history) if m.role == "user"), None)
    return plan_query(
        content, participants=participants, now=_reference_time(chats), previous=previous
    )


async def prepare(user_id: uuid.UUID, conversation_id: uuid.UUID, data: QuestionCreate) -> Question:
    """Checks that answer 4xx before any streaming starts, then stores the question. Who and
    when the question names (see `src/rag/query/`) fill the filters the request left unset."""
    settings = get_settings()
    if len(data.content) > settings.rag_max_question_chars:
        raise InvalidInputError(
            f"A question is at most {settings.rag_max_question_chars} characters",
            details={"max_chars": settings.rag_max_question_chars},
        )
    filters = data.filters
    await enforce(f"rag:{user_id}", limit=settings.rag_questions_per_minute)
    async with get_async_db_transaction() as session:
        repository = ConversationRepository(session)
        conversation = await repository.get_owned(conversation_id, user_id)
        if conversation is None:
            raise NotFoundError("Conversation")
        history = await repository.recent_messages(conversation.id, settings.rag_history_turns)
        chats = await repository.live_owned_chats(user_id, list(conversation.chat_ids))
        session.add(
            AIMessage(
                conversation_id=conversation.id,
                role="user",
                content=data.content,
                citations=[],
                filters=filters.model_dump(mode="json") if filters else None,
            )
        )
        await session.flush()
    participants = _participants(chats)
    plan = _plan(data.content, chats, participants, history)
    requested = retrieval.Filters(
        senders=filters.senders if filters else None,
        since=filters.since if filters else None,
        until=filters.until if filters else None,
    )
    # A period is the time the messages were sent only in a question about what someone
    # said ("What did Ana say about the trip last March?"); elsewhere it is when the thing
    # happens ("Where do we eat on Christmas Day?") and stays part of what is searched.
    dated = plan.senders is not None
    search_text = (plan.text if dated else plan.full_text) or data.content
    return Question(
        user_id=user_id,
        conversation_id=conversation.id,
        chat_ids=list(conversation.chat_ids),
        content=data.content,
        filters=retrieval.Filters(
            senders=requested.senders or plan.senders,
            since=requested.since or (plan.since if dated else None),
            until=requested.until or (plan.until if dated else None),
        ),
        history=[Turn(role=m.role, content=m.content) for m in history],
        search_text=search_text,
        form=question_form(search_text, participants),
        requested=requested,
    )


async def search_vector(embedder: Embedder, text: str, form: str) -> tuple[list[float], float]:
    """The unit vector searched for, and the length of the vector it is the direction of:
    the question's vector less `form_weight` times its form's (measured on the evaluation:
    chatter that is only shaped like the question, or only from someone it names, ranks
    lower). Without a form weight, the question's own vector (length 1)."""
    if not embedder.form_weight:
        [vector] = await embedder.embed([text], query=True)
        return vector, 1.0
    # A question with no word of form is compared with a bare question mark.
    question, shape = np.asarray(await embedder.embed([text, form or "?"], query=True))
    searched = question - embedder.form_weight * shape
    length = float(np.linalg.norm(searched))
    return (searched / length).tolist(), length


async def find_evidence(question: Question) -> list[Evidence]:
    """The messages that answer the question best, best first: retrieved units that pass the
    relevance decision (`retrieval.relevant`), as the messages they stand for. Filters the
    question implied (a sender, a period) that leave nothing are dropped for a second try."""
    settings = get_settings()
    text = question.search_text or question.content
    embedder = get_embedder()
    question_vector, length = await search_vector(embedder, text, question.form)
    floor = settings.rag_min_similarity
    if floor is None:
        floor = embedder.min_similarity
    margin = settings.rag_similarity_margin
    if margin is None:
        margin = embedder.similarity_margin
    # Both are on the dot product with the searched vector's direction times `length`: as
    # cosines, divided by it.
    floor, margin = floor / length, margin / length

    async def relevant(session: AsyncSession, filters: retrieval.Filters) -> list[ChunkHit]:
        hits = await retrieval.search(
            session,
            user_id=question.user_id,
            chat_ids=question.chat_ids,
            question=text,
            question_vector=question_vector,
            filters=filters,
        )
        chosen = retrieval.relevant(retrieval.distinct(hits), floor, margin)
        return chosen[: settings.rag_citations]

    async with get_async_db_transaction() as session:
        chosen = await relevant(session, question.filters)
        if not chosen and question.filters != question.requested:
            # What the question seemed to say of who and when left nothing: the words alone.
            chosen = await relevant(session, question.requested)
        messages = await retrieval.messages_by_id(session, [hit.message_id for hit in chosen])
    return [
        Evidence(
            message_id=hit.message_id,
            chat_id=hit.chat_id,
            sender=messages[hit.message_id].sender,
            sent_at=messages[hit.message_id].sent_at,
            text=messages[hit.message_id].text,
            score=round(hit.score, 4),
        )
        for hit in chosen
        if hit.message_id in messages
    ]


def citation_payload(evidence: Sequence[Evidence], markers: Sequence[int]) -> list[dict[str, Any]]:
    return [
        {
            "marker": marker,
            "chat_id": str(evidence[marker - 1].chat_id),
            "message_id": evidence[marker - 1].message_id,
            "sender": evidence[marker - 1].sender,
            "sent_at": evidence[marker - 1].sent_at.isoformat(),
            "text": evidence[marker - 1].text,
            "score": evidence[marker - 1].score,
        }
        for marker in markers
        if 1 <= marker <= len(evidence)
    ]


async def answer_events(question: Question) -> AsyncIterator[AskEvent]:
    """The answer as events: `citations` (the numbered candidates), `token`s, then `done` with
    the stored message; `error` (after storing what there is) when something fails midway."""
    pieces: list[str] = []
    try:
        evidence = await find_evidence(question)
        yield AskEvent("citations", citation_payload(evidence, range(1, len(evidence) + 1)))
        answerer = get_answerer()
        async for piece in answerer.stream(question.content, evidence, question.history):
            pieces.append(piece)
            yield AskEvent("token", piece)
        content = "".join(pieces).strip()
        stored = await _store_answer(
            question, content, citation_payload(evidence, markers_used(content))
        )
        yield AskEvent("done", message_read(stored).model_dump(mode="json"))
    except (AnswerError, EmbeddingError) as exc:
        log.warning(
            "rag.answer_failed", conversation_id=str(question.conversation_id), error=str(exc)
        )
        partial = "".join(pieces).strip()
        note = "The answer could not be completed; please ask again."
        await _store_answer(question, f"{partial}\n\n{note}".strip(), [])
        yield AskEvent("error", error_envelope("answer_failed", note))


def error_envelope(code: str, message: str) -> dict[str, Any]:
    """The one error envelope, as an `error` event carries it."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    return {"error": {"code": code, "message": message, "request_id": request_id, "details": None}}


_answering: set[asyncio.Task[None]] = set()


async def stream(question: Question) -> AsyncIterator[AskEvent]:
    """`answer_events`, produced by a task of its own: a client that goes away in the middle
    of the stream stops reading, not answering, so the answer is stored all the same."""
    queue: asyncio.Queue[AskEvent | None] = asyncio.Queue()

    async def produce() -> None:
        try:
            async for event in answer_events(question):
                queue.put_nowait(event)
        finally:
            queue.put_nowait(None)

    task = asyncio.create_task(produce())
    _answering.add(task)
    task.add_done_callback(_finished)
    while (event := await queue.get()) is not None:
        yield event


def _finished(task: asyncio.Task[None]) -> None:
    _answering.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("rag.answer_crashed", error=repr(task.exception()))


async def wait_answers() -> None:
    """Wait for answers still being produced (shutdown, tests)."""
    while _answering:
        await asyncio.gather(*list(_answering), return_exceptions=True)


async def _store_answer(
    question: Question, content: str, citations: list[dict[str, Any]]
) -> AIMessage:
    async with get_async_db_transaction() as session:
        message = AIMessage(
            conversation_id=question.conversation_id,
            role="assistant",
            content=content,
            citations=citations,
        )
        session.add(message)
        await session.flush()
        await session.refresh(message, ["created_at"])
    return message


async def answer(question: Question) -> ConversationMessageRead:
    """The whole answer (the non-streaming endpoint)."""
    async for event in answer_events(question):
        if event.kind == "done":
            return ConversationMessageRead.model_validate(event.data)
        if event.kind == "error":
            raise AnswerUnavailable()
    raise AnswerUnavailable()


class AnswerUnavailable(ServiceUnavailableError):
    code = "answer_unavailable"
    message = "The answer could not be completed; please ask again"


def sse(event: AskEvent) -> str:
    return f"event: {event.kind}\ndata: {json.dumps(event.data)}\n\n"


async def purge_deleted(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete for good the conversations soft-deleted past the retention period (their
    messages go with them through the foreign key)."""
    days = get_settings().soft_delete_retention_days
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    result = await session.execute(
        delete(AIConversation).where(
            AIConversation.is_deleted.is_(True), AIConversation.deleted_at < cutoff
        ),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


#: What an answer that quoted a chat deleted for good says instead.
FORGOTTEN = "This answer quoted a chat that has since been deleted."

_FORGET_SQL = text(
    """
    UPDATE ai_messages m SET content = :notice, citations = '[]'::jsonb
    WHERE m.role = 'assistant'
      AND m.conversation_id IN (
          SELECT id FROM ai_conversations WHERE chat_ids && CAST(:chat_ids AS uuid[])
      )
      AND EXISTS (
          SELECT 1 FROM jsonb_array_elements(m.citations) AS c
          WHERE CAST(c ->> 'chat_id' AS uuid) = ANY(CAST(:chat_ids AS uuid[]))
      )
    """
)


async def forget_chats(session: AsyncSession, chat_ids: Sequence[uuid.UUID]) -> int:
    """Answers that quoted any of these chats (deleted for good) lose their quotes: their
    citations and their text, which may quote the messages too, give way to `FORGOTTEN`.
    How many answers changed."""
    if not chat_ids:
        return 0
    result = await session.execute(_FORGET_SQL, {"notice": FORGOTTEN, "chat_ids": list(chat_ids)})
    forgotten = int(getattr(result, "rowcount", 0) or 0)
    if forgotten:
        log.info("rag.answers_forgotten", answers=forgotten, chats=len(chat_ids))
    return forgotten


async def conversations_page(
    session: AsyncSession, user_id: uuid.UUID, params: PageParams
) -> tuple[list[AIConversation], str | None]:
    """A page of the user's conversations, newest first."""
    return await ConversationRepository(session).page(user_id, params)
