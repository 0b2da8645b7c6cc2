"""The benchmark's report, as Markdown."""

import os
import time

from bench.retrieval.data import (
    FIFTH_CHATS,
    LARGE_CHAT,
    OTHER_LARGE_CHATS,
    SMALL_CHAT_ROWS,
    Build,
)
from bench.retrieval.measure import ScopeResult
from src.config import get_settings
from src.rag import retrieval

TARGET_P95_MS = 30.0
TARGET_RECALL = 0.95


def render(
    *,
    build_: Build,
    built_now: bool,
    results: list[ScopeResult],
    server: dict[str, str],
    difficulty: dict[str, float],
    prewarmed: bool,
    queries: int,
    run_s: float,
) -> str:
    settings = get_settings()
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    when = "built by this run" if built_now else f"reused, built {build_.built_at}"
    build_total = build_.load_s + sum(build_.index_s.values()) + build_.vacuum_s
    indexes = ", ".join(f"{what} {seconds:.0f} s" for what, seconds in build_.index_s.items())
    lines = [
        f"# Question-to-citations retrieval: {build_.n:,} units",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `python -m "
        f"bench.retrieval` on this machine: {os.cpu_count()} cores, {memory_gib:.0f} GiB, "
        f"PostgreSQL {server['server_version']} with pgvector {server['pgvector']} (the embedded "
        f"server of `scripts.stack`: shared_buffers {server['shared_buffers']}, jit "
        f"{server['jit']}). Other work shares the machine: each scope gives the 1-minute load "
        f"average before and after it. {queries} questions per scope, each its own unit of work "
        "through `retrieval.search`; question embedding not included.",
        "",
        f"Data ({when}): {build_.n:,} units in {build_.chats:,} chats of {build_.users:,} users "
        f"(one user's {FIFTH_CHATS} chats hold a fifth; one chat {LARGE_CHAT:.1%}; "
        f"{len(OTHER_LARGE_CHATS)} other large chats; the rest small chats of "
        f"{SMALL_CHAT_ROWS[0]}-{SMALL_CHAT_ROWS[1]} rows). Vectors: {build_.sample:,} generated "
        f"lines embedded by the default embedder ({build_.embed_per_s:.0f} lines/s), the rest "
        f"drawn around them (sigma {build_.sigma}); cosine similarity of random pairs p5 / p50 / "
        f"p95: real {' / '.join(map(str, build_.real_pairs))}, drawn "
        f"{' / '.join(map(str, build_.drawn_pairs))}.",
        "",
        "How hard these vectors are for HNSW, whatever the scope (20 questions, whole table): "
        f"recall@10 of the index {difficulty['ef40']:.2f} at ef_search 40, "
        f"{difficulty['ef100']:.2f} at 100, {difficulty['ef400']:.2f} at 400; a question's "
        f"1st / 10th / 100th nearest unit at cosine {difficulty['top1']:.3f} / "
        f"{difficulty['top10']:.3f} / {difficulty['top100']:.3f} (medians): the top 10 are "
        "near-ties, which approximate search cannot tell apart cheaply.",
        "",
        f"Build: COPY {build_.load_s:.0f} s (text generation included); indexes (1 parallel "
        f"helper): {indexes}; VACUUM ANALYZE {build_.vacuum_s:.0f} s: {build_total:.0f} s in "
        f"all. This run took {run_s:.0f} s.",
        "",
        f"Settings: RAG_EXACT_SEARCH_MAX {settings.rag_exact_search_max:,}, RAG_HNSW_EF_SEARCH "
        f"{settings.rag_hnsw_ef_search}, RAG_CANDIDATES {settings.rag_candidates} per side, "
        f"hnsw.iterative_scan relaxed_order (set by the service), hnsw.max_scan_tuples "
        f"{server['hnsw.max_scan_tuples']} (server), HNSW index {server['hnsw_index']}."
        + (
            " Table and indexes loaded into shared buffers (pg_prewarm) before measuring."
            if prewarmed
            else " Table and indexes larger than shared buffers: not prewarmed."
        ),
        "",
        f"## Per scope: target p95 <= {TARGET_P95_MS:.0f} ms with recall@10 >= {TARGET_RECALL}",
        "",
        "| scope | rows in scope | vector method | p50 / p95 / p99 ms | recall@10 | target "
        "| load |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        met = r.service.p(0.95) <= TARGET_P95_MS and r.recall >= TARGET_RECALL
        lines.append(
            f"| {r.scope} | {r.rows:,}{' (median)' if r.scope == 'one small chat' else ''} | "
            f"{r.method} | {r.service.triple()} | {r.recall:.3f} | {'met' if met else 'MISSED'} "
            f"| {r.load[0]:.1f} / {r.load[1]:.1f} |"
        )
    lines += [
        "",
        "## Anchor: the same exact vector-side SQL through bare asyncpg",
        "",
        "The service's `vector_hits` with `(embedding <=> q) + 0`, its filters and `words >= "
        f"{retrieval.MIN_VECTOR_WORDS}`, over the same scope: the truth for recall, and the "
        "cost of searching the scope exactly.",
        "",
        "| scope | exact p50 / p95 / p99 ms | service / exact, p50 | service / exact, p95 |",
        "|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.scope} | {r.exact.triple()} | {r.service.p(0.5) / r.exact.p(0.5):.2f} | "
            f"{r.service.p(0.95) / r.exact.p(0.95):.2f} |"
        )
    lines += [
        "",
        "## The full-text side's share",
        "",
        "The service's statement through bare asyncpg, and the same statement cut after "
        "`text_hits` (the `terms`, `weights`, `selecting` and `text_hits` CTEs alone).",
        "",
        "| scope | statement p50 / p95 ms | text side p50 / p95 ms | text side share, p50 |",
        "|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.scope} | {r.hybrid.p(0.5):.1f} / {r.hybrid.p(0.95):.1f} | "
            f"{r.text_side.p(0.5):.1f} / {r.text_side.p(0.95):.1f} | "
            f"{r.text_side.p(0.5) / r.hybrid.p(0.5):.0%} |"
        )
    if any(r.sweep for r in results):
        lines += [
            "",
            "## Sweep: the vector side alone, bare asyncpg, other methods",
            "",
            "| scope | method | p50 / p95 / p99 ms | recall@10 |",
            "|---|---|---|---|",
        ]
        for r in results:
            for name, timing, found in r.sweep:
                lines.append(f"| {r.scope} | {name} | {timing.triple()} | {found:.3f} |")
    return "\n".join(lines) + "\n"
