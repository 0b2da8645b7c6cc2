"""Question-to-citations retrieval at scale: latency and recall@10 in every scope a question
can have.

The target (the scale issue): p95 at most 30 ms, question embedding excluded, with recall@10 of
the vector side at least 0.95 against exact search, over 1,000,000 units of many users and
chats, in each of three scopes: one small chat (a few hundred rows), one large chat (14,000
rows) and the set of chats of one user that holds a fifth of all rows.

The data: N units (`--n`, one per message as `src/rag/chunking.py` makes them) in about 2,000
chats of a few hundred users, with the `users` and `chats` rows that `retrieval.search` reads
for the scope (owner, language, `message_count`). Lines are chat lines of `bench.chat_import`'s
words and people, plus a long tail of topic words and times (so that a question's rarer words
select few units, as in real chats). Vectors are realistic for the default embedder
(multilingual-e5-small): `--sample` generated lines are really embedded, and every unit gets
one of them plus noise shaped like the sample's own spread (see `VectorModel`). Lines and
vectors are paired at random: right for latency and recall, meaningless for relevance. Units
are COPYed chat by chat (an import writes a chat's units together), then the indexes the
schema defines on `chat_chunks` (`src/rag/models.py`) are built, each timed. All of it goes
into its own database (`chatsight_bench_retrieval`) on the same server and is kept: a later
run reuses it when it holds N units (`--rebuild` forces).

Each question is timed through the service's `retrieval.search` in its own unit of work (as
`rag.service.find_evidence` runs it). Recall@10 compares the service's vector-side top 10 (its
hits with `vector_rank <= 10`) with the service's own vector-side SQL run exactly (`+ 0` on the
distance) over the same scope and rows through bare asyncpg, which is also the anchor: the
cost of exact search alone. Then the full-text side alone (the statement cut after its
`text_hits`), and with `--sweep` the vector side alone under other settings, to tune.

The service reads its settings from the environment as usual (`RAG_HNSW_EF_SEARCH`,
`RAG_EXACT_SEARCH_MAX`, ...); the report names the ones in force.

The table and its indexes (about 4 GB at 1,000,000 units) are loaded into shared buffers
before measuring when they fit, as on a server sized for them; the embedded server's default
of 128 MB does not hold them (measure on a server that does: `ALTER SYSTEM SET shared_buffers
= '8GB'` and a `maintenance_work_mem` that holds the HNSW graph, about 4 GB, and restart
it).

    python -m scripts.stack exec -- sh -c \\
        '.venv/bin/python -m alembic upgrade head && .venv/bin/python -m bench.retrieval'
"""
