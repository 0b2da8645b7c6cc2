"""The retrieval evaluation: planted facts in generated chats, asked about in other words.

A dataset file (`dataset/<language>.json`, described in `dataset/README.md`) holds four chats
(family, friends, a couple, a work team), each with participants, a pool of everyday lines and
planted facts with the questions that ask for them; a chat outside the conversation's scope
with facts that conflict with some of them; questions about topics no chat contains; and
follow-up pairs.

`build` makes each chat from its dataset entry (the filler lines drawn at random, with random
senders at random times of 2024, the facts at their own times), imports it through the API
as a JSON export, and indexes it as the worker would. `evaluate` then asks every question
through the same path a real question takes (`rag.service.prepare` and `find_evidence`) in a
conversation over the four chats, and scores where the planted fact comes among the
citations.
"""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from src.rag import indexing
from src.rag import service as rag_service
from src.rag.schemas import QuestionCreate

DATASET = Path(__file__).resolve().parent / "dataset"
LANGUAGES = ("en", "es", "de")
YEAR_START = datetime(2024, 1, 1)
TIMEZONE = "Europe/Madrid"
PASSWORD = "evaluation-password-1"


def load(language: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATASET / f"{language}.json").read_text("utf-8"))
    return data


@dataclass
class Built:
    """A language's chats, imported and indexed, and where each planted fact ended up."""

    language: str
    user_id: uuid.UUID
    headers: dict[str, str]
    scope: list[str]  # the conversation's chats
    chat_ids: dict[str, uuid.UUID]  # by chat key, the outside chat included
    fact_ids: dict[str, int]  # "chat.fact" -> message id
    messages: int


def chat_messages(
    chat: dict[str, Any], count: int, rng: random.Random
) -> tuple[list[dict[str, Any]], list[str]]:
    """The messages of a generated chat (in time order) and the keys of its facts in the
    same order as they appear among them."""
    filler: Sequence[str] = chat["filler"]
    participants: Sequence[str] = chat["participants"]
    seconds = 366 * 24 * 3600
    rows: list[tuple[datetime, str, str, str | None]] = []
    for _ in range(max(0, count - len(chat["facts"]))):
        # Chats come in bursts: a random day and hour, then a few minutes between lines.
        at = YEAR_START + timedelta(seconds=rng.randrange(seconds))
        rows.append((at, rng.choice(participants), rng.choice(filler), None))
    for fact in chat["facts"]:
        rows.append(
            (datetime.fromisoformat(fact["date"]), fact["sender"], fact["text"], fact["key"])
        )
    rows.sort(key=lambda row: row[0])
    messages = [
        {"sender": sender, "sent_at": at.isoformat(timespec="seconds"), "text": text}
        for at, sender, text, _ in rows
    ]
    return messages, [key for _, _, _, key in rows if key is not None]


async def _register(client: httpx.AsyncClient) -> tuple[uuid.UUID, dict[str, str]]:
    email = f"eval-{uuid.uuid4().hex[:12]}@example.com"
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    response.raise_for_status()
    user_id = uuid.UUID(response.json()["id"])
    token = await client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    token.raise_for_status()
    return user_id, {"Authorization": f"Bearer {token.json()['access_token']}"}


async def _import(
    client: httpx.AsyncClient, headers: dict[str, str], title: str, messages: list[Any]
) -> uuid.UUID:
    body = json.dumps({"messages": messages}, ensure_ascii=False).encode()
    response = await client.post(
        "/api/v1/chats/import",
        files={"file": ("chat.json", body, "application/json")},
        data={"title": title, "timezone": TIMEZONE},
        headers=headers,
    )
    if response.status_code != 201:
        raise RuntimeError(f"import failed: {response.status_code} {response.text[:300]}")
    chat_id = uuid.UUID(response.json()["id"])
    if await indexing.run_index(chat_id) != "indexed":
        raise RuntimeError(f"indexing {title!r} failed")
    return chat_id


async def _fact_ids(
    client: httpx.AsyncClient, headers: dict[str, str], chat_id: uuid.UUID, texts: set[str]
) -> dict[str, int]:
    """Message ids of the planted facts, found by their exact text."""
    found: dict[str, int] = {}
    cursor: str | None = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            f"/api/v1/chats/{chat_id}/messages", params=params, headers=headers
        )
        response.raise_for_status()
        page = response.json()
        for item in page["items"]:
            if item["text"] in texts:
                found[item["text"]] = item["id"]
        cursor = page.get("next_cursor")
        if not cursor:
            return found


async def build(
    client: httpx.AsyncClient, language: str, *, messages_per_chat: int, seed: int = 7
) -> Built:
    data = load(language)
    rng = random.Random(f"{seed}-{language}")
    user_id, headers = await _register(client)
    chat_ids: dict[str, uuid.UUID] = {}
    fact_ids: dict[str, int] = {}
    total = 0
    for chat in [*data["chats"], data["outside"]]:
        count = messages_per_chat if chat is not data["outside"] else messages_per_chat // 2
        messages, _ = chat_messages(chat, count, rng)
        chat_id = await _import(client, headers, chat["title"], messages)
        chat_ids[chat["key"]] = chat_id
        total += len(messages)
        texts = {fact["text"]: fact["key"] for fact in chat["facts"]}
        for text, message_id in (await _fact_ids(client, headers, chat_id, set(texts))).items():
            fact_ids[f"{chat['key']}.{texts[text]}"] = message_id
    scope = [str(chat_ids[chat["key"]]) for chat in data["chats"]]
    return Built(language, user_id, headers, scope, chat_ids, fact_ids, total)


@dataclass
class Outcome:
    """One question asked: where its fact came among the citations (None: not cited)."""

    kind: str
    question: str
    rank: int | None = None
    cited: int = 0
    outside: int = 0  # citations from the chat outside the scope
    seconds: float = 0.0


@dataclass
class Scores:
    language: str
    answerable: list[Outcome] = field(default_factory=list)
    absent: list[Outcome] = field(default_factory=list)

    def hit_at(self, k: int) -> float:
        hits = [o for o in self.answerable if o.rank is not None and o.rank <= k]
        return len(hits) / len(self.answerable) if self.answerable else 0.0

    @property
    def mrr(self) -> float:
        ranks = [1 / o.rank if o.rank else 0.0 for o in self.answerable]
        return statistics.fmean(ranks) if ranks else 0.0

    @property
    def false_citations(self) -> int:
        """Absent-topic questions that cited anything, plus citations from outside the scope."""
        return sum(1 for o in self.absent if o.cited) + sum(
            o.outside for o in [*self.answerable, *self.absent]
        )

    @property
    def outside_citations(self) -> int:
        return sum(o.outside for o in [*self.answerable, *self.absent])

    def latency(self, q: float) -> float:
        values = sorted(o.seconds for o in [*self.answerable, *self.absent])
        return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


async def _ask(
    client: httpx.AsyncClient, built: Built, content: str, *, previous: str | None = None
) -> tuple[list[int], list[uuid.UUID], float]:
    """Ask in a new conversation over the scope (after `previous`, when given): the cited
    message ids and their chats, best first, and the retrieval time."""
    response = await client.post(
        "/api/v1/rag/conversations", json={"chat_ids": built.scope}, headers=built.headers
    )
    response.raise_for_status()
    conversation_id = uuid.UUID(response.json()["id"])
    if previous is not None:
        await rag_service.prepare(built.user_id, conversation_id, QuestionCreate(content=previous))
    question = await rag_service.prepare(
        built.user_id, conversation_id, QuestionCreate(content=content)
    )
    started = time.perf_counter()
    evidence = await rag_service.find_evidence(question)
    elapsed = time.perf_counter() - started
    return [e.message_id for e in evidence], [e.chat_id for e in evidence], elapsed


async def evaluate(
    client: httpx.AsyncClient,
    built: Built,
    *,
    facts_per_chat: int | None = None,
    absent: int | None = None,
) -> Scores:
    """Ask the questions of `built`'s language (the first `facts_per_chat` facts of each chat
    and the first `absent` absent-topic questions, or all of them)."""
    data = load(built.language)
    outside_id = built.chat_ids[data["outside"]["key"]]
    scores = Scores(built.language)
    for chat in data["chats"]:
        for fact in chat["facts"][:facts_per_chat]:
            target = built.fact_ids[f"{chat['key']}.{fact['key']}"]
            for item in fact["questions"]:
                scores.answerable.append(
                    await _outcome(client, built, item["kind"], item["text"], target, outside_id)
                )
    followups = data["followups"] if facts_per_chat is None else data["followups"][:1]
    for pair in followups:
        target = built.fact_ids[f"{pair['chat']}.{pair['fact']}"]
        scores.answerable.append(
            await _outcome(
                client, built, "follow_up", pair["then"], target, outside_id, previous=pair["first"]
            )
        )
    for item in data["absent"][:absent]:
        scores.absent.append(
            await _outcome(client, built, "absent", item["text"], None, outside_id)
        )
    return scores


async def _outcome(
    client: httpx.AsyncClient,
    built: Built,
    kind: str,
    question: str,
    target: int | None,
    outside_id: uuid.UUID,
    *,
    previous: str | None = None,
) -> Outcome:
    ids, chats, seconds = await _ask(client, built, question, previous=previous)
    rank = ids.index(target) + 1 if target in ids else None
    return Outcome(
        kind=kind,
        question=question,
        rank=rank,
        cited=len(ids),
        outside=sum(1 for chat_id in chats if chat_id == outside_id),
        seconds=seconds,
    )


def table(all_scores: Sequence[Scores]) -> str:
    """The per-language table, as Markdown."""
    lines = [
        "| language | questions | hit@1 | hit@5 | MRR | absent topics | false citations "
        "| outside scope | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in all_scores:
        lines.append(
            f"| {s.language} | {len(s.answerable)} | {s.hit_at(1):.3f} | {s.hit_at(5):.3f} "
            f"| {s.mrr:.3f} | {len(s.absent)} | {s.false_citations} | {s.outside_citations} "
            f"| {s.latency(0.5) * 1000:.0f} | {s.latency(0.95) * 1000:.0f} |"
        )
    return "\n".join(lines)


def by_kind(all_scores: Sequence[Scores]) -> str:
    kinds: dict[str, list[Outcome]] = defaultdict(list)
    for s in all_scores:
        for o in s.answerable:
            kinds[o.kind].append(o)
    lines = ["| kind | questions | hit@1 | hit@5 |", "|---|---|---|---|"]
    for kind, outcomes in sorted(kinds.items()):
        hit1 = sum(1 for o in outcomes if o.rank == 1) / len(outcomes)
        hit5 = sum(1 for o in outcomes if o.rank is not None and o.rank <= 5) / len(outcomes)
        lines.append(f"| {kind} | {len(outcomes)} | {hit1:.3f} | {hit5:.3f} |")
    return "\n".join(lines)


def misses(all_scores: Sequence[Scores]) -> str:
    lines = []
    for s in all_scores:
        for o in s.answerable:
            if o.rank is None or o.rank > 5:
                lines.append(f"- {s.language} {o.kind}: {o.question} (rank {o.rank})")
        for o in s.absent:
            if o.cited:
                lines.append(f"- {s.language} absent, cited {o.cited}: {o.question}")
    return "\n".join(lines) or "(none)"
