"""Answers from any OpenAI-compatible `/v1/chat/completions` with `stream: true`, through the
one client for such servers (`src.openai_compat`). The prompt numbers the retrieved messages
and asks for `[n]` markers; recent turns of the conversation go along as context. Connection
problems, 429 and 5xx before the first token are retried under its policy; a failure after
tokens have been sent ends the answer."""

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from src.config import get_settings
from src.openai_compat import (
    Endpoint,
    EndpointRefused,
    EndpointUnavailable,
    StreamBroken,
    stream_data,
)
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
        body: dict[str, Any] = {
            "model": get_settings().openai_model,
            "stream": True,
            "temperature": 0,
            "messages": build_messages(question, evidence, history),
        }
        endpoint = Endpoint.for_chat()
        async with endpoint.client() as client:
            try:
                async for data in stream_data(client, endpoint, "chat/completions", body):
                    piece = _delta(data)
                    if piece:
                        yield piece
            except EndpointRefused as exc:
                raise AnswerError(f"the model endpoint {exc}") from exc
            except EndpointUnavailable as exc:
                raise AnswerError(f"the model endpoint is {exc}", transient=True) from exc
            except StreamBroken as exc:
                raise AnswerError(f"the answer stream broke: {exc}", transient=True) from exc


def _delta(data: str) -> str | None:
    """The text a stream chunk adds to the answer, if any."""
    try:
        piece = json.loads(data)["choices"][0].get("delta", {}).get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise AnswerError("the model sent an unreadable stream") from exc
    return piece if isinstance(piece, str) else None
