"""Answers from any OpenAI-compatible `/v1/chat/completions` with `stream: true`. The prompt
numbers the retrieved messages and asks for `[n]` markers; recent turns of the conversation
go along as context. Connection problems, 429 and 5xx before the first token are retried a
bounded number of times; a failure after tokens have been sent ends the answer."""

import asyncio
import json
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from src.config import get_settings
from src.rag.answerers.base import AnswerError, Evidence, Turn

SYSTEM = (
    "You answer questions about the user's own chat messages. Use only the numbered messages "
    "given. Cite the messages you rely on with their markers, like [1] or [2][3]. If the "
    "messages do not contain the answer, say so briefly and cite nothing."
)


def build_messages(
    question: str, evidence: Sequence[Evidence], history: Sequence[Turn]
) -> list[dict[str, str]]:
    numbered = "\n".join(
        f"[{n}] {e.sent_at.isoformat()} {e.sender or 'system'}: {e.text}"
        for n, e in enumerate(evidence, 1)
    )
    turns = [{"role": t.role, "content": t.content} for t in history]
    return [
        {"role": "system", "content": SYSTEM},
        *turns,
        {"role": "user", "content": f"Messages:\n{numbered or '(none)'}\n\nQuestion: {question}"},
    ]


class OpenAIAnswerer:
    name = "openai"

    async def stream(
        self, question: str, evidence: Sequence[Evidence], history: Sequence[Turn]
    ) -> AsyncIterator[str]:
        settings = get_settings()
        headers = {}
        if settings.openai_api_key is not None:
            headers["Authorization"] = f"Bearer {settings.openai_api_key.get_secret_value()}"
        body: dict[str, Any] = {
            "model": settings.openai_model,
            "stream": True,
            "temperature": 0,
            "messages": build_messages(question, evidence, history),
        }
        url = settings.openai_base_url.rstrip("/") + "/chat/completions"
        timeout = httpx.Timeout(
            settings.openai_read_timeout_seconds, connect=settings.openai_connect_timeout_seconds
        )
        last_error = "no attempt"
        async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
            for attempt in range(settings.openai_max_retries + 1):
                if attempt:
                    await asyncio.sleep(min(8.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0))
                sent_any = False
                try:
                    async with client.stream("POST", url, json=body) as response:
                        if response.status_code == 429 or response.status_code >= 500:
                            last_error = f"HTTP {response.status_code}"
                            continue
                        if response.status_code >= 400:
                            status_code = response.status_code
                            raise AnswerError(
                                f"the model endpoint refused the request: HTTP {status_code}"
                            )
                        async for piece in _deltas(response):
                            sent_any = True
                            yield piece
                        return
                except httpx.TransportError as exc:
                    if sent_any:
                        raise AnswerError(
                            f"the answer stream broke: {exc!r}", transient=True
                        ) from exc
                    last_error = f"transport error: {exc!r}"
        raise AnswerError(f"the model endpoint is unavailable ({last_error})", transient=True)


async def _deltas(response: httpx.Response) -> AsyncIterator[str]:
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
            piece = chunk["choices"][0].get("delta", {}).get("content")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise AnswerError("the model sent an unreadable stream") from exc
        if piece:
            yield piece
