import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class InsightCreate(BaseModel):
    insight_type: str = Field(min_length=1, max_length=50, description="A slug from /categories")

    model_config = ConfigDict(json_schema_extra={"examples": [{"insight_type": "activity"}]})


class InsightRead(BaseModel):
    id: uuid.UUID
    chat_id: uuid.UUID
    insight_type: str
    status: str = Field(description="pending, running, completed or failed")
    generation: int = Field(description="1 for the first run; each regeneration adds 1.")
    credits_charged: int = Field(description="What the current generation cost.")
    result: dict[str, Any] | None = Field(description="The insight, once completed.")
    error: str | None = Field(description="Why it failed (the charge was refunded).")
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    stale: bool = Field(
        default=False,
        description="Messages were added to the chat (a merge or an append) after this result "
        "was computed: `?regenerate=true` brings it up to date.",
    )
