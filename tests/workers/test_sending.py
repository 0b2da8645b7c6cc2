"""What is sent to the broker waits there, in the queue of its kind, until a worker takes it."""

import json
import uuid

from redis import Redis

from src import broker
from src.config import get_settings
from src.insights.service import GENERATE_TASK
from src.task_queue import BULK_QUEUE, IMPORT_TASK, INDEX_TASK, INTERACTIVE_QUEUE


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


def test_bulk_work_has_a_queue_of_its_own() -> None:
    """Imports and indexing wait in `chatsight.bulk`, for the bulk worker; insights, the relay
    and the sweepers in `chatsight`, where a backlog of bulk work cannot delay them."""
    queue = Redis.from_url(get_settings().redis_url)
    missing = str(uuid.uuid4())  # no such chat or job: a worker that takes them skips them
    sent = {
        broker.send_task(IMPORT_TASK, (missing,)): BULK_QUEUE,
        broker.send_task(INDEX_TASK, (missing,)): BULK_QUEUE,
        broker.send_task(GENERATE_TASK, (missing,)): INTERACTIVE_QUEUE,
        broker.send_task("chatsight.outbox.relay"): INTERACTIVE_QUEUE,
    }
    try:
        found = {}
        for name in (BULK_QUEUE, INTERACTIVE_QUEUE):
            for raw in queue.lrange(name, 0, -1):
                task_id = json.loads(raw)["headers"]["id"]
                if task_id in sent:
                    found[task_id] = name
                    queue.lrem(name, 1, raw)
        assert found == sent
    finally:
        queue.close()


def test_the_api_sends_tasks_without_loading_worker_code() -> None:
    """The API process (src.main, the broker, the outbox) never imports the workers package:
    tasks go by name through src.task_queue."""
    import subprocess
    import sys

    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, src.main, src.broker, src.outbox.service; "
            # A task a worker may skip: it expires at once.
            "src.broker.send_task('chatsight.diagnostics.ping', ('nobody',), expires=1); "
            "print(sorted(m for m in sys.modules if m == 'workers' or m.startswith('workers.')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert loaded == "[]"
