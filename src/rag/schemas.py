import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from src.error_responses import ErrorEnvelope


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


class ConversationMessageRead(BaseModel):
    id: int
    role: Literal["user", "assistant"]
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
    messages: list[ConversationMessageRead]


def citations_of(raw: list[dict[str, Any]]) -> list[Citation]:
    return [Citation.model_validate(item) for item in raw]


class CitationsEvent(BaseModel):
    """First: the numbered messages the answer may cite (its markers `[n]` point here)."""

    event: Literal["citations"]
    data: list[Citation]


class TokenEvent(BaseModel):
    """A piece of the answer's text, in order (a JSON string)."""

    event: Literal["token"]
    data: str


class DoneEvent(BaseModel):
    """Last on success: the stored answer, its citations being those its text uses."""

    event: Literal["done"]
    data: ConversationMessageRead


class ErrorEvent(BaseModel):
    """Last on failure, in the one error envelope: what was said so far is stored with a
    note, and asking again is safe."""

    event: Literal["error"]
    data: ErrorEnvelope


AskEventSchema = Annotated[
    CitationsEvent | TokenEvent | DoneEvent | ErrorEvent, Field(discriminator="event")
]


def sse_schema() -> dict[str, Any]:
    """The JSON Schema of one Server-Sent Event of an answer: `event:` is the name, `data:`
    the JSON payload. Its references point into the OpenAPI components, where src/openapi.py
    puts its definitions."""
    schema: dict[str, Any] = TypeAdapter(AskEventSchema).json_schema(
        ref_template="#/components/schemas/{model}"
    )
    return schema
