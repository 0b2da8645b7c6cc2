"""Local insight providers: offline, deterministic functions from a chat's messages to a
JSON-able result.

`compute(slug, messages, options)` runs one insight and returns its result model dumped in
JSON mode; `RESULT_MODELS[slug]` is that model, whose `model_json_schema()` documents the
result. The conventions they share (who counts, ordering, rounding) are described in
`_common`; each insight's own rules in its module.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from src.insights.providers.base import InsightError, InsightMessage, InsightOptions
from src.insights.providers.local import (
    activity,
    initiators,
    keywords,
    response_times,
    sentiment,
    summary,
)
from src.insights.providers.local._common import zone_for
from src.logging import get_logger

__all__ = ["RESULT_MODELS", "compute"]

log = get_logger(__name__)

_Provider = Callable[[Sequence[InsightMessage], InsightOptions], BaseModel]

_PROVIDERS: dict[str, tuple[type[BaseModel], _Provider]] = {
    "activity": (activity.ActivityResult, activity.compute),
    "response_times": (response_times.ResponseTimesResult, response_times.compute),
    "initiators": (initiators.InitiatorsResult, initiators.compute),
    "sentiment": (sentiment.SentimentResult, sentiment.compute),
    "keywords": (keywords.KeywordsResult, keywords.compute),
    "summary": (summary.SummaryResult, summary.compute),
}

RESULT_MODELS: dict[str, type[BaseModel]] = {slug: model for slug, (model, _) in _PROVIDERS.items()}
"""Insight slug -> the pydantic model of its result."""


def _check(options: InsightOptions) -> None:
    """Reject options no insight can work with (a permanent error)."""
    zone_for(options.timezone)
    if options.silence_minutes < 1:
        raise InsightError("silence_minutes must be at least 1")
    if options.summary_size < 0:
        raise InsightError("summary_size must not be negative")
    if options.keywords_per_participant < 0:
        raise InsightError("keywords_per_participant must not be negative")


def compute(
    slug: str, messages: Sequence[InsightMessage], options: InsightOptions
) -> dict[str, Any]:
    """Run the insight `slug` over `messages` and return its result as JSON-able data.

    Raises InsightError (not transient) for an unknown slug, an unknown time zone or an
    invalid option.
    """
    entry = _PROVIDERS.get(slug)
    if entry is None:
        raise InsightError(f"Unknown local insight {slug!r}")
    _check(options)
    _, provider = entry
    started = time.perf_counter()
    result = provider(messages, options).model_dump(mode="json")
    log.debug(
        "insight.local.computed",
        insight_type=slug,
        messages=len(messages),
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return result
