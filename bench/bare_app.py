"""The anchor of bench/request_path.py: the least an ASGI app can do to serve one chat by id,
as JSON, to its owner. One asyncpg pool (the size of the API's), one query, no framework.

    uvicorn bench.bare_app:app   (BARE_DATABASE_URL=postgresql://..., BARE_USER_ID=...)
"""

import json
import os
import uuid
from typing import Any

import asyncpg  # type: ignore[import-untyped]

# The columns `GET /api/v1/chats/{id}` answers with.
COLUMNS = (
    "id, title, source_format, status, error, import_progress, import_attempts, "
    "message_count, participants, first_message_at, last_message_at, timezone, date_order, "
    "date_order_source, time_precision, last_merge_added, last_merge_already_present, "
    "last_merged_at, index_status, indexed_messages, index_error, index_attempts, language, "
    "created_at, updated_at"
)
QUERY = f"SELECT {COLUMNS} FROM chats WHERE id = $1 AND user_id = $2 AND NOT is_deleted"

_pool: Any = None


async def _lifespan(receive: Any, send: Any) -> None:
    global _pool
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _pool = await asyncpg.create_pool(
                os.environ["BARE_DATABASE_URL"], min_size=10, max_size=10
            )
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await _pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    chat_id = uuid.UUID(scope["path"].rsplit("/", 1)[1])
    async with _pool.acquire() as connection:
        row = await connection.fetchrow(QUERY, chat_id, uuid.UUID(os.environ["BARE_USER_ID"]))
    status, body = (
        (404, b"{}") if row is None else (200, json.dumps(dict(row), default=str).encode())
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
