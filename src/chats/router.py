import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Response, UploadFile, status
from sqlalchemy import Row

from src.auth.dependencies import Claims, CurrentUser, owned, owned_row
from src.chats import service as chats_service
from src.chats.importing import ImportRequest
from src.chats.models import Chat, ChatStatus
from src.chats.parsers import ChatFormat, DateOrder
from src.chats.repository import ChatRepository, chat_page, message_page
from src.chats.schemas import (
    ChatCreate,
    ChatMergeRead,
    ChatRead,
    ChatUpdate,
    MessageBatch,
    MessageRead,
)
from src.dependencies import DbSession
from src.error_responses import responses
from src.exceptions import AuthenticationError
from src.idempotency import mark_replayed
from src.pagination import Page, Pagination

router = APIRouter(prefix="/chats", tags=["chats"], responses=responses(401))

OwnedChat = Annotated[Chat, Depends(owned(ChatRepository, param="chat_id", resource="Chat"))]
OwnedChatRow = Annotated[Row[Any], Depends(owned_row(Chat, param="chat_id", resource="Chat"))]

DateOrderForm = Annotated[
    DateOrder | None,
    Form(description="Override the date order decided from the file: dmy, mdy, ymd or ydm"),
]


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ChatRead, responses=responses(422)
)
async def create_chat(data: ChatCreate, user: CurrentUser, session: DbSession) -> ChatRead:
    """An empty chat, ready for messages posted by a frontend (`POST /chats/{id}/messages`)."""
    chat = await chats_service.create_empty(session, user.id, data.title, data.timezone)
    return ChatRead.model_validate(chat)


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    response_model=ChatRead,
    responses={
        202: {
            "model": ChatRead,
            "description": "Large file: queued; poll `GET /chats/{id}` for progress",
        },
        **responses(413, 422, 503),
    },
)
async def import_chat(
    user: CurrentUser,
    response: Response,
    file: Annotated[
        UploadFile, File(description="A WhatsApp .txt/.zip, Telegram JSON, JSON or CSV")
    ],
    title: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
    timezone: Annotated[
        str, Form(max_length=64, description="IANA zone of the export's times")
    ] = "UTC",
    format: Annotated[ChatFormat | None, Form(description="Skip detection")] = None,
    date_order: DateOrderForm = None,
) -> ChatRead:
    """Import an exported conversation.

    Small files are parsed during the request: 201 with the chat `ready`. Large files become
    an import job: 202 with the chat `importing` and an `import_progress` that
    `GET /chats/{id}` reports until it is `ready` (or `failed`, with `error`). Uploading the
    same file again returns the existing chat with `Idempotent-Replayed: true`: 202 while it
    is still importing, 201 otherwise.

    Dates of WhatsApp-style exports are read in the order that every line of the file allows
    and that runs forward in time; the chat's `date_order` and `date_order_source` say what
    was decided, and `date_order` here overrides it.

    413 `payload_too_large` beyond `MAX_UPLOAD_MB` uploaded, 413 `export_too_large` beyond it
    unpacked, 413 `too_many_messages` beyond `MAX_IMPORT_MESSAGES`; 422 `invalid_export` for
    a file that is no known format, 422 `invalid_messages` for content that cannot be stored
    (`details.problem` names it: message_too_long, invalid_sender, nul_byte,
    date_out_of_range, too_many_participants). Nothing is stored then.
    """
    data = await file.read()
    request = ImportRequest(
        data=data,
        filename=file.filename,
        title=title,
        timezone=timezone,
        format=format,
        date_order=date_order,
    )
    chat, outcome = await chats_service.import_export(user.id, request)
    if outcome == chats_service.ImportOutcome.DUPLICATE:
        mark_replayed(response)
    if chat.status == ChatStatus.IMPORTING:
        response.status_code = status.HTTP_202_ACCEPTED
    return ChatRead.model_validate(chat)


@router.post(
    "/{chat_id}/import",
    response_model=ChatMergeRead,
    responses={
        202: {
            "model": ChatMergeRead,
            "description": "Large file: queued; the chat is `importing` until merged (the "
            "counts are null until then)",
        },
        **responses(404, 409, 413, 422, 503),
    },
)
async def merge_export(
    chat_id: uuid.UUID,
    user: CurrentUser,
    response: Response,
    file: Annotated[UploadFile, File(description="A newer or overlapping export of this chat")],
    timezone: Annotated[
        str | None,
        Form(max_length=64, description="IANA zone of the export's times (default: the chat's)"),
    ] = None,
    format: Annotated[ChatFormat | None, Form(description="Skip detection")] = None,
    date_order: DateOrderForm = None,
) -> ChatMergeRead:
    """Merge a newer export of this chat (or the one its other participant took) into it.

    Only what the chat does not hold yet is added, compared as a multiset of (sender, time
    at the coarser precision of the two, text): two identical messages in the same minute
    are both kept. Names the two phones write differently are matched where the exports
    overlap. Messages stay in time order; only the added ones are indexed; insights computed
    before become `stale`. The same file again adds nothing.

    200 with `{chat, added, already_present}`; 202 for a large file (the counts are then the
    chat's `last_merge_added` / `last_merge_already_present` once it is `ready` again). 404
    for a chat that is not yours; 409 `chat_not_ready` while it imports; errors of the file
    as for `POST /chats/import`.
    """
    request = ImportRequest(
        data=await file.read(),
        filename=file.filename,
        title=None,
        timezone=timezone or "",
        format=format,
        date_order=date_order,
    )
    chat, counts = await chats_service.merge_export(user.id, chat_id, request)
    if counts is None:
        response.status_code = status.HTTP_202_ACCEPTED
        return ChatMergeRead(chat=ChatRead.model_validate(chat), added=None, already_present=None)
    return ChatMergeRead(
        chat=ChatRead.model_validate(chat),
        added=counts.added,
        already_present=counts.already_present,
    )


@router.get("", response_model=Page[ChatRead], responses=responses(422))
async def list_chats(claims: Claims, page: Pagination) -> Page[ChatRead]:
    """Your chats, newest first."""
    found = await chat_page(claims.user_id, claims.generation, page)
    if found is None:
        raise AuthenticationError("Invalid or expired token")
    rows, next_cursor = found
    return Page(items=[ChatRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/{chat_id}", response_model=ChatRead, responses=responses(404))
async def read_chat(chat: OwnedChatRow) -> ChatRead:
    """One chat, with its import status and progress."""
    return ChatRead.model_validate(chat)


@router.patch("/{chat_id}", response_model=ChatRead, responses=responses(404, 422))
async def update_chat(data: ChatUpdate, chat: OwnedChat, session: DbSession) -> ChatRead:
    """Rename a chat."""
    return ChatRead.model_validate(await chats_service.update_title(session, chat, data.title))


@router.delete("/{chat_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404))
async def delete_chat(chat: OwnedChat, session: DbSession) -> Response:
    """Delete a chat (soft): it and its messages disappear at once, and it can be restored
    for `SOFT_DELETE_RETENTION_DAYS` days before it is purged for good."""
    await chats_service.soft_delete(session, chat)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{chat_id}/restore", response_model=ChatRead, responses=responses(404, 409))
async def restore_chat(chat_id: uuid.UUID, user: CurrentUser) -> ChatRead:
    """Bring back a deleted chat. 409 `restore_conflict` when the same file was imported
    again since; 409 `restore_expired` past the retention period."""
    return ChatRead.model_validate(await chats_service.restore(user.id, chat_id))


@router.get("/{chat_id}/messages", response_model=Page[MessageRead], responses=responses(404, 422))
async def list_messages(
    chat: OwnedChatRow,
    page: Pagination,
    since: Annotated[datetime | None, Query(description="Sent at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Sent before (ISO 8601)")] = None,
    sender: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text contains (any case)")] = None,
    from_seq: Annotated[
        int | None, Query(ge=0, description="Messages at this position (`seq`) or later")
    ] = None,
) -> Page[MessageRead]:
    """The chat's messages in order (by `seq`), filtered, a page at a time. To show a message
    in its context, start a few positions before it: `from_seq` = its `seq` - 5."""
    rows, next_cursor = await message_page(
        chat.id, page, since=since, until=until, sender=sender, q=q, from_seq=from_seq
    )
    return Page(items=[MessageRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/{chat_id}/messages/{message_id}",
    response_model=MessageRead,
    responses=responses(404, 422),
)
async def read_message(
    chat: OwnedChatRow,
    message_id: Annotated[int, Path(description="The message's `id`")],
) -> MessageRead:
    """One message of the chat, by its `id` (as a citation's `message_id` gives it): its
    `seq` places it among the chat's messages (`GET /chats/{id}/messages?from_seq=`). 404
    when the chat is not yours or the message is not in it."""
    return MessageRead.model_validate(await chats_service.read_message(chat.id, message_id))


@router.post(
    "/{chat_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=ChatRead,
    responses=responses(404, 409, 422),
)
async def append_messages(chat_id: uuid.UUID, batch: MessageBatch, user: CurrentUser) -> ChatRead:
    """Append up to 1,000 messages, in the order given, after the chat's last message.
    409 `chat_not_ready` while the chat is importing or after a failed import."""
    # Ownership is checked inside the unit of work (one connection per request).
    updated, _ = await chats_service.append_messages(user.id, chat_id, batch.messages)
    return ChatRead.model_validate(updated)
