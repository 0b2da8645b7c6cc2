import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from src.chats.models import ChatStatus, IndexStatus
from src.chats.parsers import (
    AttachmentKind,
    ChatFormat,
    DateOrder,
    DateOrderSource,
    MessageKind,
)


class ChatCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    timezone: str = Field(default="UTC", max_length=64, description="IANA name, e.g. Europe/Madrid")

    model_config = ConfigDict(json_schema_extra={"examples": [{"title": "Family group"}]})


class ChatUpdate(BaseModel):
    title: str = Field(min_length=1, max_length=200)


class ChatRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    source_format: ChatFormat | Literal["api", "unknown"] = Field(
        description="The export's format; `api` for a chat a frontend fills, `unknown` while "
        "a queued export waits to be read."
    )
    status: ChatStatus
    error: str | None = Field(description="Why the import failed (status failed).")
    import_progress: float | None = Field(description="0.0 to 1.0 while importing.")
    import_attempts: int = Field(
        description="Runs of the latest import or merge job (more than 1: a worker was lost "
        "and the job was sent again)."
    )
    message_count: int
    participants: list[str]
    first_message_at: datetime | None
    last_message_at: datetime | None
    timezone: str
    date_order: DateOrder | None = Field(
        description="How the export's dates were read (dmy, mdy, ymd or ydm; line formats "
        "only). Wrong? Import again with `date_order`."
    )
    date_order_source: DateOrderSource | None = Field(
        description="What decided `date_order`: requested, dates (only one order gives valid "
        "dates), chronology (only one runs forward in time), default (nothing decides: dmy), "
        "format (ISO dates)."
    )
    time_precision: int = Field(description="1 when times have seconds, 60 for minutes only.")
    last_merge_added: int | None = Field(description="Messages the latest merge added.")
    last_merge_already_present: int | None = Field(
        description="Messages of the latest merged export the chat already held."
    )
    last_merged_at: datetime | None
    index_status: IndexStatus = Field(
        description="Retrieval index: pending, indexing, ready or failed"
    )
    indexed_messages: int = Field(description="Messages (by seq) embedded for retrieval so far")
    index_error: str | None = Field(description="Why indexing failed (index_status failed).")
    index_attempts: int = Field(description="Runs of the latest indexing job.")
    language: str | None = Field(
        description="The language most messages are written in (ISO 639-1), detected when the "
        "chat is first indexed; full-text search stems and drops stop words in it."
    )
    created_at: datetime
    updated_at: datetime


class ChatMergeRead(BaseModel):
    chat: ChatRead
    added: int | None = Field(
        description="Messages added (null while a large export is merged by a worker: the "
        "chat's `last_merge_added` has it once the chat is `ready`)."
    )
    already_present: int | None = Field(description="Messages of the export the chat held.")


class AttachmentRead(BaseModel):
    kind: AttachmentKind
    file_name: str | None


class ReactionRead(BaseModel):
    emoji: str
    count: int
    senders: list[str] = Field(description="Who reacted, where the export says.")


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    seq: int = Field(description="Position in the chat (time order), from 1.")
    sender: str | None
    sent_at: datetime
    text: str
    kind: MessageKind = Field(description="text, media or system")
    edited: bool = Field(description="The sender edited it (the export's marker is removed).")
    forwarded_from: str | None
    reply_to: int | None = Field(description="Id of the message of this chat it answers.")
    reactions: list[ReactionRead]
    attachment: AttachmentRead | None

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        kind = getattr(value, "attachment_kind", None)
        return {
            "id": value.id,
            "seq": value.seq,
            "sender": value.sender,
            "sent_at": value.sent_at,
            "text": value.text,
            "kind": value.kind,
            "edited": value.edited,
            "forwarded_from": value.forwarded_from,
            "reply_to": value.reply_to_id,
            "reactions": value.reactions or [],
            "attachment": {"kind": kind, "file_name": value.attachment_name} if kind else None,
        }


class MessageIn(BaseModel):
    sender: str = Field(min_length=1, max_length=200)
    sent_at: AwareDatetime = Field(description="With a UTC offset, e.g. 2026-01-02T13:45:00Z")
    text: str = Field(max_length=65_536)
    kind: Literal["text", "media", "system"] = "text"


class MessageBatch(BaseModel):
    messages: list[MessageIn] = Field(min_length=1, max_length=1000)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "messages": [
                        {"sender": "Ada", "sent_at": "2026-01-02T13:45:00Z", "text": "Hi!"},
                        {"sender": "Bob", "sent_at": "2026-01-02T13:46:10Z", "text": "Hello"},
                    ]
                }
            ]
        }
    )
