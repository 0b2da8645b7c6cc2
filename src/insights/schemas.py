import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter

from src.insights.models import InsightStatus
from src.insights.providers.local import RESULT_MODELS
from src.insights.providers.local.activity import ActivityResult
from src.insights.providers.local.initiators import InitiatorsResult
from src.insights.providers.local.keywords import KeywordsResult
from src.insights.providers.local.response_times import ResponseTimesResult
from src.insights.providers.local.sentiment import SentimentResult
from src.insights.providers.local.summary import SummaryResult
from src.pagination import Page


class InsightCreate(BaseModel):
    insight_type: str = Field(min_length=1, max_length=50, description="A slug from /categories")

    model_config = ConfigDict(json_schema_extra={"examples": [{"insight_type": "activity"}]})


class InsightBase(BaseModel):
    id: uuid.UUID
    chat_id: uuid.UUID
    status: InsightStatus
    generation: int = Field(description="1 for the first run; each regeneration adds 1.")
    credits_charged: int = Field(description="What the current generation cost.")
    error: str | None = Field(description="Why it failed (the charge was refunded).")
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    stale: bool = Field(
        default=False,
        description="Messages were added to the chat (a merge or an append) after this result "
        "was computed: `?regenerate=true` brings it up to date.",
    )


class ActivityInsight(InsightBase):
    insight_type: Literal["activity"]
    result: ActivityResult | None = Field(description="The insight, once completed.")


class ResponseTimesInsight(InsightBase):
    insight_type: Literal["response_times"]
    result: ResponseTimesResult | None = Field(description="The insight, once completed.")


class InitiatorsInsight(InsightBase):
    insight_type: Literal["initiators"]
    result: InitiatorsResult | None = Field(description="The insight, once completed.")


class SentimentInsight(InsightBase):
    insight_type: Literal["sentiment"]
    result: SentimentResult | None = Field(description="The insight, once completed.")


class KeywordsInsight(InsightBase):
    insight_type: Literal["keywords"]
    result: KeywordsResult | None = Field(description="The insight, once completed.")


class SummaryInsight(InsightBase):
    insight_type: Literal["summary"]
    result: SummaryResult | None = Field(description="The insight, once completed.")


class OtherInsight(InsightBase):
    """An insight type added to the catalogue after these were written: its result is an
    object of its own shape."""

    insight_type: str
    result: dict[str, Any] | None = Field(description="The insight, once completed.")


_TYPED = {
    "activity": ActivityInsight,
    "response_times": ResponseTimesInsight,
    "initiators": InitiatorsInsight,
    "sentiment": SentimentInsight,
    "keywords": KeywordsInsight,
    "summary": SummaryInsight,
}
assert set(_TYPED) == set(RESULT_MODELS), "an insight type without its typed read model"


def _insight_kind(value: Any) -> str:
    slug = value.get("insight_type") if isinstance(value, dict) else value.insight_type
    return slug if slug in _TYPED else "other"


#: An insight, its `result` typed by its `insight_type` (TypeScript narrows on it).
InsightRead = Annotated[
    Annotated[ActivityInsight, Tag("activity")]
    | Annotated[ResponseTimesInsight, Tag("response_times")]
    | Annotated[InitiatorsInsight, Tag("initiators")]
    | Annotated[SentimentInsight, Tag("sentiment")]
    | Annotated[KeywordsInsight, Tag("keywords")]
    | Annotated[SummaryInsight, Tag("summary")]
    | Annotated[OtherInsight, Tag("other")],
    Discriminator(_insight_kind),
]
INSIGHT_READ: TypeAdapter[InsightRead] = TypeAdapter(InsightRead)


class InsightPage(Page[InsightRead]):
    """A page of a chat's insights."""
