"""The `openai` insight provider: any OpenAI-compatible `/v1/chat/completions` (a hosted API,
vLLM, Ollama...). The model is asked for JSON matching the insight type's schema, and the
answer is validated against it. Requests go through the one client for such servers
(`src.openai_compat`: its retry policy for 429, 5xx and timeouts); what is still failing then
is a transient `InsightError` (the job retries later); a 4xx or an answer that does not fit
the schema is a permanent one."""

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from src.config import get_settings
from src.insights.providers.base import InsightError, InsightMessage, InsightOptions
from src.insights.providers.local import RESULT_MODELS
from src.logging import get_logger
from src.openai_compat import Endpoint, EndpointRefused, EndpointUnavailable, post_json

log = get_logger(__name__)

INSTRUCTIONS = {
    "summary": "Pick the most representative messages of the chat, in chat order.",
    "activity": "Count messages and words per participant, by weekday and hour, and busiest days.",
    "response_times": "Measure reply delays per participant (median and p90, in seconds).",
    "initiators": "Count who starts conversations after a long silence.",
    "sentiment": "Rate the sentiment per participant and per month (-1 to 1).",
    "keywords": "List the distinctive words of each participant.",
}


def transcript(messages: Sequence[InsightMessage], max_chars: int) -> str:
    """The chat as text lines, keeping the most recent messages that fit in `max_chars`."""
    lines: list[str] = []
    size = 0
    for message in reversed(messages):
        if message.sender is None:
            continue
        line = f"[{message.seq}] {message.sent_at.isoformat()} {message.sender}: {message.text}"
        size += len(line) + 1
        if size > max_chars:
            break
        lines.append(line)
    return "\n".join(reversed(lines))


def build_request(
    slug: str, messages: Sequence[InsightMessage], options: InsightOptions
) -> dict[str, Any]:
    settings = get_settings()
    schema = RESULT_MODELS[slug].model_json_schema()
    system = (
        "You analyse a chat conversation and answer with one JSON object only, matching this "
        f"JSON schema exactly:\n{json.dumps(schema)}\n"
        f"Task: {INSTRUCTIONS.get(slug, slug)} Times are in the {options.timezone} time zone."
    )
    return {
        "model": settings.openai_model,
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": transcript(messages, settings.openai_max_prompt_chars)},
        ],
    }


async def compute(
    slug: str, messages: Sequence[InsightMessage], options: InsightOptions
) -> dict[str, Any]:
    if slug not in RESULT_MODELS:
        raise InsightError(f"unknown insight type {slug!r}")
    body = build_request(slug, messages, options)
    endpoint = Endpoint.for_chat()
    async with endpoint.client() as client:
        try:
            answer = await post_json(client, endpoint, "chat/completions", body)
        except EndpointRefused as exc:
            raise InsightError(f"the model endpoint {exc}") from exc
        except EndpointUnavailable as exc:
            log.warning("insight.openai_unavailable", slug=slug, error=str(exc))
            raise InsightError(f"the model endpoint is {exc}", transient=True) from exc
    return _validated(slug, answer)


def _validated(slug: str, answer: Any) -> dict[str, Any]:
    try:
        content = answer["choices"][0]["message"]["content"]
        result = RESULT_MODELS[slug].model_validate_json(content)
    except (ValueError, KeyError, IndexError, TypeError, ValidationError) as exc:
        raise InsightError(f"the model's answer does not fit the {slug} schema: {exc}") from exc
    dumped: dict[str, Any] = result.model_dump(mode="json")
    return dumped
