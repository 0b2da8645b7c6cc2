import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status
from fastapi.responses import StreamingResponse

from src.auth.dependencies import CurrentUser, owned
from src.dependencies import DbSession
from src.error_responses import responses
from src.pagination import Page, Pagination
from src.rag import service as rag_service
from src.rag.models import AIConversation
from src.rag.repository import ConversationRepository
from src.rag.schemas import (
    ConversationCreate,
    ConversationDetail,
    ConversationMessageRead,
    ConversationRead,
    QuestionCreate,
    sse_schema,
)

router = APIRouter(prefix="/rag", tags=["rag"], responses=responses(401))

OwnedConversation = Annotated[
    AIConversation,
    Depends(owned(ConversationRepository, param="conversation_id", resource="Conversation")),
]


@router.post(
    "/conversations",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversationRead,
    responses=responses(404, 422),
)
async def create_conversation(
    data: ConversationCreate, user: CurrentUser, session: DbSession
) -> ConversationRead:
    """Start a conversation over some of your chats (404 if any of them is not yours)."""
    return await rag_service.create_conversation(session, user.id, data)


@router.get("/conversations", response_model=Page[ConversationRead], responses=responses(422))
async def list_conversations(
    user: CurrentUser, session: DbSession, page: Pagination
) -> Page[ConversationRead]:
    """Your conversations, newest first."""
    rows, next_cursor = await rag_service.conversations_page(session, user.id, page)
    return Page(items=[rag_service.to_read(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationDetail,
    responses=responses(404),
)
async def read_conversation(
    conversation: OwnedConversation, session: DbSession
) -> ConversationDetail:
    """A conversation with its questions, answers and their citations."""
    return await rag_service.get_detail(session, conversation)


@router.delete(
    "/conversations/{conversation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(404),
)
async def delete_conversation(conversation: OwnedConversation, session: DbSession) -> Response:
    """Delete a conversation (soft)."""
    await rag_service.delete_conversation(session, conversation)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=ConversationMessageRead,
    responses={
        200: {
            "description": "The stored answer. With `Accept: text/event-stream`, Server-Sent "
            "Events instead, each an `event:` name and a JSON `data:` line: `citations` (the "
            "numbered messages), `token`s (the answer's text in pieces), then `done` (the "
            "stored answer) or `error` (the error envelope). The answer is produced and stored "
            "even when the client disconnects in the middle of the stream: read it back with "
            "GET /rag/conversations/{id}.",
            "content": {"text/event-stream": {"schema": sse_schema()}},
        },
        **responses(404, 422, 429, 503),
    },
)
async def ask(
    conversation_id: uuid.UUID,
    data: QuestionCreate,
    user: CurrentUser,
    accept: Annotated[str | None, Header()] = None,
) -> ConversationMessageRead | StreamingResponse:
    """Ask a question; the answer comes from your messages in the conversation's chats, with
    numbered markers `[n]` matching its `citations` (chat, message, sender, time, text).
    Optional `filters`: `senders`, `since`, `until`. Rate-limited per user (429 +
    `Retry-After`). The question and the answer are stored either way."""
    question = await rag_service.prepare(user.id, conversation_id, data)
    if accept and "text/event-stream" in accept:

        async def events() -> AsyncIterator[str]:
            async for event in rag_service.stream(question):
                yield rag_service.sse(event)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return await rag_service.answer(question)
