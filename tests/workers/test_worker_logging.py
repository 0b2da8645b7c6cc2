"""End to end with a real worker process: a request's id reaches its background task's log."""

import os

import httpx

from tests.factories import register
from tests.workers.process import WorkerProcess, json_event


async def test_request_id_reaches_the_worker_log(
    client: httpx.AsyncClient, worker: WorkerProcess
) -> None:
    account = await register(client)
    request_id = f"e2e-{os.getpid()}-{id(worker)}"
    response = await client.post(
        "/api/v1/diagnostics/ping", headers={**account.headers, "X-Request-ID": request_id}
    )
    assert response.status_code == 202
    assert response.json()["request_id"] == request_id

    line = await worker.wait_for(
        lambda text: (
            json_event(text).get("event") == "diagnostics.ping"
            and json_event(text).get("request_id") == request_id
        )
    )
    event = json_event(line)
    assert event["task_id"] == response.json()["task_id"]
    assert event["user_id"] == str(account.id)
    assert any(
        json_event(text).get("event") == "Database engine configured for Celery worker"
        and json_event(text).get("pool") == "NullPool"
        for text in worker.lines
    )


def test_celery_settings_do_not_lose_work() -> None:
    from workers.celery_app import celery_app

    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"]
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    celery_app.loader.import_default_modules()
    for entry in conf.beat_schedule.values():
        assert entry["task"] in celery_app.tasks


async def test_each_task_run_logs_one_line_with_its_outcome_and_duration(
    client: httpx.AsyncClient, worker: WorkerProcess
) -> None:
    account = await register(client)
    response = await client.post("/api/v1/diagnostics/ping", headers=account.headers)
    task_id = response.json()["task_id"]

    line = await worker.wait_for(
        lambda text: (
            json_event(text).get("event") == "task.completed"
            and json_event(text).get("task_id") == task_id
        )
    )
    event = json_event(line)
    assert event["task_name"] == "chatsight.diagnostics.ping"
    assert event["outcome"] == "success"
    assert isinstance(event["duration_ms"], float | int)
    assert event["duration_ms"] >= 0
    assert event["request_id"] == response.json()["request_id"]
    runs = [t for t in worker.lines if json_event(t).get("task_id") == task_id]
    assert [json_event(t)["event"] for t in runs].count("task.completed") == 1
    # Celery's own line for the same run ("Task ... succeeded in ...") is not written too.
    assert not any("succeeded in" in t for t in worker.lines)
