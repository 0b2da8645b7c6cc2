import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


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
    source_format: str = Field(description="whatsapp, telegram, json, csv, ... or api")
    status: str = Field(description="importing, ready or failed")
    error: str | None = Field(description="Why the import failed (status failed).")
    import_progress: float | None = Field(description="0.0 to 1.0 while importing.")
    message_count: int
    participants: list[str]
    first_message_at: datetime | None
    last_message_at: datetime | None
    timezone: str
    index_status: str = Field(description="Retrieval index: pending, indexing, ready or failed")
    indexed_messages: int = Field(description="Messages (by seq) embedded for retrieval so far")
    created_at: datetime
    updated_at: datetime


class ChatImportRead(ChatRead):
    duplicate: bool = Field(
        default=False, description="True when this file was already imported: the existing chat."
    )


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    seq: int = Field(description="Position in the chat, from 1.")
    sender: str | None
    sent_at: datetime
    text: str
    kind: str = Field(description="text, media or system")


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
