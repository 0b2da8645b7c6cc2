"""The `openai` insight provider: any OpenAI-compatible `/v1/chat/completions` (a hosted API,
vLLM, Ollama...). The model is asked for JSON matching the insight type's schema, and the
answer is validated against it. 429 and 5xx answers and timeouts are retried a bounded
number of times with backoff; what is still failing then is a transient `InsightError` (the
job retries later); a 4xx or an answer that does not fit the schema is a permanent one."""

import asyncio
import json
import random
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import ValidationError

from src.config import get_settings
from src.insights.providers.base import InsightError, InsightMessage, InsightOptions
from src.insights.providers.local import RESULT_MODELS
from src.logging import get_logger

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
    settings = get_settings()
    headers = {}
    if settings.openai_api_key is not None:
        headers["Authorization"] = f"Bearer {settings.openai_api_key.get_secret_value()}"
    timeout = httpx.Timeout(
        settings.openai_read_timeout_seconds, connect=settings.openai_connect_timeout_seconds
    )
    body = build_request(slug, messages, options)
    url = settings.openai_base_url.rstrip("/") + "/chat/completions"
    last_error = "no attempt"
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
        for attempt in range(settings.openai_max_retries + 1):
            if attempt:
                await asyncio.sleep(min(8.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0))
            try:
                response = await client.post(url, json=body)
            except httpx.TransportError as exc:
                last_error = f"transport error: {exc!r}"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                last_error = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise InsightError(
                    f"the model endpoint refused the request: HTTP {response.status_code}"
                )
            return _validated(slug, response)
    log.warning("insight.openai_unavailable", slug=slug, error=last_error)
    raise InsightError(f"the model endpoint is unavailable ({last_error})", transient=True)


def _validated(slug: str, response: httpx.Response) -> dict[str, Any]:
    try:
        content = response.json()["choices"][0]["message"]["content"]
        answer = RESULT_MODELS[slug].model_validate_json(content)
    except (ValueError, KeyError, IndexError, TypeError, ValidationError) as exc:
        raise InsightError(f"the model's answer does not fit the {slug} schema: {exc}") from exc
    result: dict[str, Any] = answer.model_dump(mode="json")
    return result
