"""`make eval`: build every language's chats, ask every question, print the scores and write
evals/reports/rag.md.

    python -m scripts.stack exec -- python -m evals.rag [--messages 1500] [--languages en,es]
"""

import argparse
import asyncio
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from evals.rag import harness

REPORT = Path(__file__).resolve().parents[1] / "reports" / "rag.md"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1500, help="messages per chat")
    parser.add_argument("--languages", default=",".join(harness.LANGUAGES))
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args()

    from src.config import get_settings
    from src.main import app
    from src.rag.embeddings import get_embedder

    settings = get_settings()
    embedder = get_embedder()
    started = time.perf_counter()
    results = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://eval"
    ) as client:
        for language in args.languages.split(","):
            built = await harness.build(client, language, messages_per_chat=args.messages)
            print(f"{language}: {built.messages} messages imported and indexed", flush=True)
            results.append(await harness.evaluate(client, built))
    elapsed = time.perf_counter() - started
    table = harness.table(results)
    print(table)
    print(harness.misses(results))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(
        "\n".join(
            [
                "# Retrieval evaluation",
                "",
                f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
                f"{os.cpu_count()} cores; {args.messages} messages per chat; "
                f"embedder {settings.embedding_provider} (form weight {embedder.form_weight}), "
                f"min similarity {settings.rag_min_similarity or embedder.min_similarity}, "
                f"margin {settings.rag_similarity_margin or embedder.similarity_margin}, "
                f"coverage {settings.rag_min_coverage}, "
                f"context {settings.rag_context_messages}, "
                f"weights text {settings.rag_weight_text} / vector {settings.rag_weight_vector}, "
                f"rrf k {settings.rag_rrf_k}; {elapsed:.0f} s in all.",
                "",
                "hit@k: the planted message is among the first k citations; MRR: mean of 1/rank "
                "(0 when not cited); false citations: absent-topic questions that cited "
                "anything, plus any citation from the chat outside the scope.",
                "",
                table,
                "",
                "## By kind of question",
                "",
                harness.by_kind(results),
                "",
                "## Missed (not in the first 5) and false citations",
                "",
                harness.misses(results),
                "",
            ]
        )
    )
    print(f"report: {args.report}")


if __name__ == "__main__":
    asyncio.run(main())
