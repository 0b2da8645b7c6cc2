"""Local embedding throughput: realistic chat chunks through `LocalEmbedder.embed` (the async
path the indexing job uses, in calls of `--batch-size` texts) against the floor, a bare
onnxruntime session and tokenizer running the same batches. Median of `--repeat` runs after
a warm-up. Also the latency of embedding one short question. No database is needed.
Writes bench/reports/embeddings.md.

    python -m bench.embeddings [--texts 2000] [--batch-size 64] [--threads 2] [--repeat 3]
"""

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import onnxruntime
import tokenizers

from src.rag.embeddings import LocalEmbedder
from src.rag.embeddings.local import default_model_dir, default_model_path, default_threads

REPORT = Path(__file__).resolve().parent / "reports" / "embeddings.md"

NAMES = ["Ana", "Ben", "Chloé", "Dev", "Mum", "Tomás"]
PHRASES = [
    "are we still on for dinner tonight",
    "running ten minutes late, traffic on the ring road is terrible",
    "can you pick up the kids from school tomorrow",
    "I sent the photos from the weekend, check the shared album",
    "the landlord says the heating technician comes on Thursday morning",
    "don't forget mum's birthday on Saturday 🎂",
    "lol that video 😂😂",
    "ok",
    "sounds good 👍",
    "did you pay the electricity bill? it was due on the 14th",
    "the flight got moved to 7:15, I rebooked the hotel for one more night",
    "¿quedamos mañana a las ocho en la plaza?",
    "no puedo hoy, tengo una reunión hasta tarde",
    "the doctor's appointment is at 10:30, I'll drive you",
    "what do you want for your birthday this year",
    "I'm at the supermarket, need anything? milk, bread, eggs?",
    "the meeting with the client went really well, they signed the contract",
    "happy new year!!! 🎉🥂 love you all",
    "can someone feed the cat while we're away next week",
    "the train is cancelled again, taking the bus instead",
    "let's split the rent for the holiday house, it's 1,250 for the week",
    "call me when you're free, it's about the car insurance",
]


def generate_chunks(count: int, seed: int = 7) -> list[str]:
    """`count` chat chunks of 60-120 words, shaped like src/rag/chunking.py makes them: one
    "Sender: text" line per message."""
    rng = random.Random(seed)
    chunks = []
    for _ in range(count):
        target = rng.randint(60, 120)
        lines: list[str] = []
        words = 0
        while words < target:
            phrase = rng.choice(PHRASES)
            if rng.random() < 0.3:
                phrase = f"{phrase}, {rng.choice(PHRASES)}"
            lines.append(f"{rng.choice(NAMES)}: {phrase}")
            words += len(phrase.split()) + 1
        chunks.append("\n".join(lines))
    return chunks


def batches(texts: list[str], size: int) -> list[list[str]]:
    return [texts[start : start + size] for start in range(0, len(texts), size)]


class BareFloor:
    """The least one can do: tokenizer.json and a default onnxruntime session (same thread
    count), each batch padded to its longest text and run at once, then mean pooling."""

    def __init__(self, threads: int, *, spinning: bool = True) -> None:
        self.tokenizer = tokenizers.Tokenizer.from_file(str(default_model_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=256)
        self.tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        if not spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(default_model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def tensors(self, batch: list[str]) -> dict[str, np.ndarray]:
        encodings = self.tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def infer(self, feeds: dict[str, np.ndarray]) -> None:
        (states,) = self.session.run(["last_hidden_state"], feeds)
        mask = feeds["attention_mask"]
        pooled = (states * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)

    def run(self, batch: list[str]) -> None:
        self.infer(self.tensors(batch))


def runs_like_ours(floor: BareFloor, batch: list[str], max_tokens: int) -> list[list[str]]:
    """`batch` sorted by token count and cut into runs of at most `max_tokens` padded tokens,
    as `LocalEmbedder` does."""
    lengths = [sum(e.attention_mask) for e in floor.tokenizer.encode_batch(batch)]
    runs: list[list[str]] = []
    current: list[str] = []
    for length, text in sorted(zip(lengths, batch, strict=True), key=lambda pair: pair[0]):
        if current and (len(current) + 1) * length > max_tokens:
            runs.append(current)
            current = []
        current.append(text)
    runs.append(current)
    return runs


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64, help="texts per embed() call")
    parser.add_argument("--threads", type=int, default=default_threads(), help="intra-op")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    texts = generate_chunks(args.texts)
    groups = batches(texts, args.batch_size)
    load_before = os.getloadavg()[0]

    embedder = LocalEmbedder(batch_size=args.batch_size, intra_op_threads=args.threads)
    embedder.load()
    floor = BareFloor(args.threads)
    quiet = BareFloor(args.threads, spinning=False)  # the session options LocalEmbedder uses
    words = statistics.mean(len(text.split()) for text in texts)
    tokens = statistics.mean(sum(e.attention_mask) for e in floor.tokenizer.encode_batch(texts))
    # The exact tensors of our runs, made beforehand: what is left is inference alone.
    prepared = [
        [floor.tensors(run) for run in runs_like_ours(floor, group, embedder.max_batch_tokens)]
        for group in groups
    ]
    print(
        f"{len(texts)} chunks, {words:.0f} words / {tokens:.0f} tokens on average; "
        f"{args.threads} intra-op threads; {len(groups)} calls of {args.batch_size}, "
        f"{sum(map(len, prepared))} runs of <= {embedder.max_batch_tokens} tokens",
        flush=True,
    )

    async def ours(index: int) -> None:
        await embedder.embed(groups[index])

    async def bare(index: int) -> None:
        floor.run(groups[index])

    async def inference_only(index: int) -> None:
        for feeds in prepared[index]:
            quiet.infer(feeds)

    steps: list[tuple[str, Callable[[int], Awaitable[None]]]] = [
        (f"`LocalEmbedder.embed`, {len(groups)} awaited calls of {args.batch_size}", ours),
        (f"floor: bare session + tokenizer, the same {len(groups)} batches, one run each", bare),
        ("inference alone: our runs' tensors, prepared beforehand, same options", inference_only),
    ]
    for _, step in steps:  # warm-up
        await step(0)
    # Each batch goes through every path in turn, so that a busy neighbour on the machine
    # slows all of them alike; a run's figure is the sum over the batches.
    timings: list[list[float]] = [[] for _ in steps]
    for repeat in range(args.repeat):
        totals = [0.0] * len(steps)
        for index in range(len(groups)):
            for position, (_, step) in enumerate(steps):
                started = time.perf_counter()
                await step(index)
                totals[position] += time.perf_counter() - started
        for (name, _), runs, total in zip(steps, timings, totals, strict=True):
            runs.append(total)
            print(f"run {repeat + 1}, {name}: {len(texts) / total:.1f} chunks/s", flush=True)

    latencies = []
    for _ in range(20):
        started = time.perf_counter()
        await embedder.embed(["when is the heating technician coming?"])
        latencies.append(time.perf_counter() - started)

    ours_s, bare_s, inference_s = (statistics.median(runs) for runs in timings)
    lines = [
        f"# Local embeddings: {len(texts):,} chat chunks, all-MiniLM-L6-v2 int8 on onnxruntime",
        "",
        f"Chunks of {words:.0f} words ({tokens:.0f} tokens) on average; "
        f"{args.threads} intra-op threads; median of {args.repeat} runs after a warm-up; "
        f"measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on this machine "
        f"({os.cpu_count()} cores, 1-minute load {load_before:.1f} before the run: other "
        "processes may share the cores, so compare the rows with each other).",
        "",
        "| path | seconds | chunks/s |",
        "|---|---|---|",
        *(
            f"| {name} | {statistics.median(runs):.2f} | "
            f"{len(texts) / statistics.median(runs):,.1f} |"
            for (name, _), runs in zip(steps, timings, strict=True)
        ),
        "",
        f"embed() / floor throughput ratio: {bare_s / ours_s:.2f} (above 1: faster than the "
        "floor, from sorting by length and runs sized to the caches).",
        "",
        f"embed() / inference-alone throughput ratio: {inference_s / ours_s:.2f} (1.00: "
        "tokenizing, sorting, padding, pooling and the thread hop cost nothing).",
        "",
        "The floor's session keeps onnxruntime's default of spinning idle pool threads; "
        "LocalEmbedder turns spinning off, which matters when other processes want the cores.",
        "",
        "One short question, `embed([question])`: median "
        f"{statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms "
        f"over {len(latencies)} calls.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report)


if __name__ == "__main__":
    asyncio.run(main())
