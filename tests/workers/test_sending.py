"""What is sent to the broker waits there until a worker takes it: no expiry."""

import json

from redis import Redis

from src import broker
from src.config import get_settings


def test_tasks_that_must_run_do_not_expire_in_the_queue() -> None:
    queue = Redis.from_url(get_settings().redis_url)
    task_id = broker.send_task("chatsight.diagnostics.ping", ("someone",))
    skippable = broker.send_task("chatsight.diagnostics.ping", ("someone",), expires=30)
    try:
        sent = {}
        for raw in queue.lrange("chatsight", 0, -1):
            headers = json.loads(raw)["headers"]
            if headers["id"] in (task_id, skippable):
                sent[headers["id"]] = headers
                queue.lrem("chatsight", 1, raw)  # no worker needs to see them
        assert sent[task_id]["expires"] is None
        assert sent[skippable]["expires"] is not None
    finally:
        queue.close()
