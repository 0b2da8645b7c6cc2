import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ConversationCreate(BaseModel):
    chat_ids: list[uuid.UUID] = Field(min_length=1, description="Chats the answers come from")
    title: str | None = Field(default=None, min_length=1, max_length=200)

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"chat_ids": ["00000000-0000-0000-0000-000000000000"]}]}
    )


class QuestionFilters(BaseModel):
    senders: list[str] | None = Field(default=None, max_length=50)
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class QuestionCreate(BaseModel):
    content: str = Field(
        min_length=1, description="The question (capped by RAG_MAX_QUESTION_CHARS)"
    )
    filters: QuestionFilters | None = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"content": "When did we agree to move the trip?"}]}
    )


class Citation(BaseModel):
    marker: int = Field(description="The [n] in the answer that points here")
    chat_id: uuid.UUID
    message_id: int
    sender: str | None
    sent_at: datetime
    text: str
    score: float


class MessageRead(BaseModel):
    id: int
    role: str = Field(description="user or assistant")
    content: str
    citations: list[Citation]
    created_at: datetime


class ConversationRead(BaseModel):
    id: uuid.UUID
    title: str
    chat_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


class ConversationDetail(ConversationRead):
    messages: list[MessageRead]


def citations_of(raw: list[dict[str, Any]]) -> list[Citation]:
    return [Citation.model_validate(item) for item in raw]
