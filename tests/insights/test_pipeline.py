"""Requesting, charging, generating and refunding insights, against the real database,
broker and worker processes."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from src.categories.models import InsightType
from src.config import get_settings
from src.credits.models import CreditTransaction
from src.database import SessionLocal
from src.database_utils import execute_in_transaction
from src.insights import service as insights_service
from src.insights.models import InsightGenerationJob
from src.metrics import OUTBOX_RELAY_FAILURES
from src.outbox import service as outbox
from src.outbox.models import OutboxMessage
from tests.chats.test_api import unique_export, upload
from tests.factories import Account, assert_envelope, balance, make_admin, register
from tests.workers.process import WorkerProcess, json_event, start_worker, stop_worker


async def chat_for(client: httpx.AsyncClient, account: Account) -> str:
    response = await upload(client, account, unique_export())
    assert response.status_code == 201, response.text
    chat_id: str = response.json()["id"]
    return chat_id


async def ask(
    client: httpx.AsyncClient, account: Account, chat_id: str, slug: str, **params: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/chats/{chat_id}/insights",
        json={"insight_type": slug},
        params=params,
        headers=account.headers,
    )


async def ledger_kinds(user_id: uuid.UUID) -> list[tuple[str, int]]:
    async with SessionLocal() as session:
        rows = (
            await session.execute(
                select(CreditTransaction.kind, CreditTransaction.amount)
                .where(CreditTransaction.user_id == user_id)
                .order_by(CreditTransaction.id)
            )
        ).all()
    return [(kind, amount) for kind, amount in rows]


async def jobs_of(insight_id: str) -> list[InsightGenerationJob]:
    async with SessionLocal() as session:
        return list(
            (
                await session.scalars(
                    select(InsightGenerationJob).where(
                        InsightGenerationJob.insight_id == uuid.UUID(insight_id)
                    )
                )
            ).all()
        )


async def test_request_to_completed_through_a_worker(
    client: httpx.AsyncClient, worker: WorkerProcess
) -> None:
    account = await register(client)
    chat_id = await chat_for(client, account)
    response = await ask(client, account, chat_id, "activity")
    assert response.status_code == 202, response.text
    insight = response.json()
    assert (insight["status"], insight["generation"], insight["credits_charged"]) == (
        "pending",
        1,
        1,
    )
    await worker.wait_for(
        lambda line: (
            json_event(line).get("event") == "insight.completed"
            and json_event(line).get("insight_id") == insight["id"]
        )
    )
    done = (await client.get(f"/api/v1/insights/{insight['id']}", headers=account.headers)).json()
    assert done["status"] == "completed"
    # 5 messages with a sender (the system line does not count), one of them media
    assert (done["result"]["total_messages"], done["result"]["total_media"]) == (5, 1)
    again = await ask(client, account, chat_id, "activity")
    assert again.json()["id"] == insight["id"]
    assert again.json()["status"] == "completed"
    assert await balance(client, account) == 9
    assert await ledger_kinds(account.id) == [("signup", 10), ("insight_charge", -1)]
    listed = (await client.get(f"/api/v1/chats/{chat_id}/insights", headers=account.headers)).json()
    assert listed["next_cursor"] is None
    assert [(i["insight_type"], i["status"]) for i in listed["items"]] == [
        ("activity", "completed")
    ]


async def test_50_concurrent_requests_make_one_insight_one_job_one_charge(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    chat_id = await chat_for(client, account)
    responses = await asyncio.gather(*(ask(client, account, chat_id, "summary") for _ in range(50)))
    assert {r.status_code for r in responses} == {202}
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    [insight_id] = ids
    assert len(await jobs_of(insight_id)) == 1
    assert await ledger_kinds(account.id) == [("signup", 10), ("insight_charge", -3)]
    async with SessionLocal() as session:
        staged = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.task_name == insights_service.GENERATE_TASK)
            .where(OutboxMessage.args[0].astext.in_([str(j.id) for j in await jobs_of(insight_id)]))
        )
    assert staged == 1
    await outbox.wait_idle()


async def test_not_enough_credits_is_402_and_writes_nothing(client: httpx.AsyncClient) -> None:
    account = await register(client)
    chat_id = await chat_for(client, account)
    assert (await ask(client, account, chat_id, "summary")).status_code == 202  # 10 -> 7
    assert (await ask(client, account, chat_id, "sentiment")).status_code == 202  # 7 -> 5
    assert (await ask(client, account, chat_id, "keywords")).status_code == 202  # 5 -> 3
    assert (await ask(client, account, chat_id, "response_times")).status_code == 202  # 3 -> 1
    # regenerating one that is still pending is refused, and charges nothing
    refused = await ask(client, account, chat_id, "response_times", regenerate="true")
    assert_envelope(refused, 409, "insight_in_progress")
    short = await ask(client, account, chat_id, "initiators")  # costs 1: fits
    assert short.status_code == 202
    broke = await ask(client, account, chat_id, "activity")  # balance 0
    error = assert_envelope(broke, 402, "insufficient_credits")
    assert error["details"] == {"balance": 0, "required": 1}
    listed = (await client.get(f"/api/v1/chats/{chat_id}/insights", headers=account.headers)).json()
    assert "activity" not in [i["insight_type"] for i in listed["items"]]
    await outbox.wait_idle()


async def test_unknown_type_missing_chat_and_other_users(client: httpx.AsyncClient) -> None:
    owner, stranger = await register(client), await register(client)
    chat_id = await chat_for(client, owner)
    assert_envelope(await ask(client, owner, chat_id, "astrology"), 404, "unknown_insight_type")
    assert_envelope(await ask(client, stranger, chat_id, "activity"), 404, "not_found")
    insight = (await ask(client, owner, chat_id, "activity")).json()
    assert_envelope(
        await client.get(f"/api/v1/insights/{insight['id']}", headers=stranger.headers),
        404,
        "not_found",
    )
    assert_envelope(
        await client.get(f"/api/v1/chats/{chat_id}/insights", headers=stranger.headers),
        404,
        "not_found",
    )
    await outbox.wait_idle()


async def test_a_chats_insights_come_a_page_at_a_time_in_catalogue_order(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    chat_id = await chat_for(client, account)
    asked = ["keywords", "activity", "initiators"]
    for slug in asked:
        assert (await ask(client, account, chat_id, slug)).status_code == 202
    url = f"/api/v1/chats/{chat_id}/insights"
    first = (await client.get(url, params={"limit": 2}, headers=account.headers)).json()
    second = (
        await client.get(
            url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=account.headers
        )
    ).json()
    whole = (await client.get(url, params={"limit": 100}, headers=account.headers)).json()
    assert (len(first["items"]), len(second["items"]), second["next_cursor"]) == (2, 1, None)
    paged = [i["insight_type"] for i in first["items"] + second["items"]]
    assert paged == [i["insight_type"] for i in whole["items"]]
    async with SessionLocal() as session:
        catalogue = (
            await session.scalars(
                select(InsightType.slug).order_by(InsightType.position, InsightType.slug)
            )
        ).all()
    assert paged == [slug for slug in catalogue if slug in asked]
    bad = await client.get(url, params={"cursor": "not-a-cursor"}, headers=account.headers)
    assert_envelope(bad, 422, "invalid_input")
    await outbox.wait_idle()


async def test_relays_racing_each_other_send_each_row_once() -> None:
    """Relays started together (after-commit relays of many requests, beat's): whichever takes
    the lock just after another one committed sees that one's rows as sent, and fails on
    nothing."""
    marker = uuid.uuid4().hex

    async def stage_many(session: Any) -> None:
        for index in range(4):
            await outbox.stage(session, "chatsight.diagnostics.ping", marker, index)

    for _ in range(50):
        await execute_in_transaction(stage_many)
        await asyncio.gather(*(outbox.relay(limit=1) for _ in range(8)))
    while await outbox.pending_count():
        await outbox.relay()
    async with SessionLocal() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.args[0].astext == marker)
            )
        ).all()
    assert len(rows) == 200
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows)


async def test_a_rolled_back_unit_stages_nothing() -> None:
    before = await outbox.pending_count()
    marker = uuid.uuid4().hex

    async def stage_then_fail(session: Any) -> None:
        await outbox.stage(session, "chatsight.diagnostics.ping", marker)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await execute_in_transaction(stage_then_fail)
    async with SessionLocal() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.args[0].astext == marker)
        )
    assert found == 0
    assert await outbox.pending_count() == before


async def requested_job(client: httpx.AsyncClient, account: Account) -> tuple[str, uuid.UUID]:
    chat_id = await chat_for(client, account)
    insight = (await ask(client, account, chat_id, "summary")).json()
    await outbox.wait_idle()
    [job] = await jobs_of(insight["id"])
    return insight["id"], job.id


async def test_a_provider_that_fails_for_good_refunds_once(
    client: httpx.AsyncClient, model_server: dict[str, Any], summary_on_openai: Account
) -> None:
    model_server["mode"] = "refuse"
    account = summary_on_openai
    insight_id, job_id = await requested_job(client, account)

    assert await insights_service.run_job(job_id) == insights_service.JobOutcome.FAILED
    assert await insights_service.run_job(job_id) == insights_service.JobOutcome.SKIPPED
    assert await insights_service.fail_job(job_id, "again") is False
    failed = (await client.get(f"/api/v1/insights/{insight_id}", headers=account.headers)).json()
    assert failed["status"] == "failed"
    assert "refused" in failed["error"]
    assert await balance(client, account) == 10
    assert await ledger_kinds(account.id) == [
        ("signup", 10),
        ("insight_charge", -3),
        ("insight_refund", 3),
    ]


async def test_an_answer_that_does_not_fit_the_schema_fails_and_refunds(
    client: httpx.AsyncClient, model_server: dict[str, Any], summary_on_openai: Account
) -> None:
    account = summary_on_openai
    insight_id, job_id = await requested_job(client, account)
    assert await insights_service.run_job(job_id) == insights_service.JobOutcome.FAILED
    failed = (await client.get(f"/api/v1/insights/{insight_id}", headers=account.headers)).json()
    assert "schema" in failed["error"]
    assert await balance(client, account) == 10


async def test_a_failed_insight_can_be_requested_again(
    client: httpx.AsyncClient, model_server: dict[str, Any], summary_on_openai: Account
) -> None:
    model_server["mode"] = "refuse"
    account = summary_on_openai
    insight_id, job_id = await requested_job(client, account)
    await insights_service.run_job(job_id)
    chat_id = (await client.get(f"/api/v1/insights/{insight_id}", headers=account.headers)).json()[
        "chat_id"
    ]
    again = await ask(client, account, chat_id, "summary")
    assert again.status_code == 202
    assert (again.json()["id"], again.json()["generation"], again.json()["status"]) == (
        insight_id,
        2,
        "pending",
    )
    assert await balance(client, account) == 7
    await outbox.wait_idle()


async def test_a_job_whose_worker_is_killed_completes_once_after_the_sweeper(
    client: httpx.AsyncClient, model_server: dict[str, Any], summary_on_openai: Account
) -> None:
    """SIGKILL the worker while it waits on the model: the job stays `running`; the sweeper
    (stall timeout shortened) re-stages it and a new worker completes it, charged once."""
    model_server["mode"] = "hang"
    account = summary_on_openai
    env = {"OPENAI_BASE_URL": model_server["url"], "OPENAI_MAX_RETRIES": "0"}
    first = await start_worker(**env)
    try:
        chat_id = await chat_for(client, account)
        insight = (await ask(client, account, chat_id, "summary")).json()
        async with asyncio.timeout(30):
            await model_server["called"].wait()
        first.process.kill()  # SIGKILL, mid-job
        await first.process.wait()
    finally:
        await stop_worker(first)
    [job] = await jobs_of(insight["id"])
    assert (job.status, job.attempts) == ("running", 1)

    # A valid answer for the next attempt: what the local provider computes for this chat.
    from src.insights.providers import local
    from src.insights.providers.base import InsightOptions
    from src.insights.repository import InsightRepository

    async with SessionLocal() as session:
        messages = await InsightRepository(session).messages(uuid.UUID(chat_id))
    model_server["answer"] = local.compute("summary", messages, InsightOptions())
    model_server["mode"] = "ok"
    model_server["release"].set()

    settings = get_settings()
    stall_before = settings.insight_stall_seconds
    settings.insight_stall_seconds = 0
    try:
        swept = await insights_service.sweep()
    finally:
        settings.insight_stall_seconds = stall_before
    assert swept["stalled"] >= 1
    await outbox.wait_idle()

    second = await start_worker(purge=False, **env)
    try:
        await second.wait_for(
            lambda line: (
                json_event(line).get("event") == "insight.completed"
                and json_event(line).get("insight_id") == insight["id"]
            )
        )
    finally:
        await stop_worker(second)
    [job] = await jobs_of(insight["id"])
    assert (job.status, job.attempts) == ("completed", 2)
    done = (await client.get(f"/api/v1/insights/{insight['id']}", headers=account.headers)).json()
    assert done["status"] == "completed"
    assert await ledger_kinds(account.id) == [("signup", 10), ("insight_charge", -3)]


async def test_with_the_broker_refusing_the_request_still_answers_and_the_relay_catches_up(
    client: httpx.AsyncClient,
) -> None:
    """The broker refuses connections (a password is set and clients are dropped): the
    request still answers 202 and its task waits in the outbox; once the broker is back, the
    relay publishes it."""
    from redis.asyncio import Redis

    account = await register(client)
    chat_id = await chat_for(client, account)
    url = get_settings().redis_url
    admin = Redis.from_url(url)
    password = uuid.uuid4().hex
    failures_before = OUTBOX_RELAY_FAILURES._value.get()
    try:
        await admin.config_set("requirepass", password)
        await admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        response = await ask(client, account, chat_id, "activity")
        assert response.status_code == 202
        await outbox.wait_idle()
        [job] = await jobs_of(response.json()["id"])
        async with SessionLocal() as session:
            row = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.args[0].astext == str(job.id))
            )
        assert row is not None
        assert row.sent_at is None
        # the relay after commit tried and was refused (it stops at the oldest unsent row,
        # which may be another test's)
        assert OUTBOX_RELAY_FAILURES._value.get() > failures_before
    finally:
        await admin.config_set("requirepass", "")
        await admin.aclose()

    async def sent() -> bool:
        async with SessionLocal() as session:
            staged = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.args[0].astext == str(job.id))
            )
        return staged is not None and staged.sent_at is not None

    for _ in range(20):  # staged rows go oldest first; other tests may have left some
        await outbox.wait_idle()
        await outbox.relay()
        if await sent():
            break
    assert await sent()

    # ... and a worker runs the job from the broker.
    insight_id = response.json()["id"]
    worker = await start_worker(purge=False)
    try:
        await worker.wait_for(
            lambda line: (
                json_event(line).get("event") == "insight.completed"
                and json_event(line).get("insight_id") == insight_id
            )
        )
    finally:
        await stop_worker(worker)


async def test_concurrent_requests_across_chats_of_one_user_do_not_deadlock(
    client: httpx.AsyncClient,
) -> None:
    """Each request inserts rows referencing the user, then locks the user's balance: with a
    plain FOR UPDATE two such units deadlock (40P01) on the foreign-key locks."""
    account = await register(client)
    admin = await register(client)
    await make_admin(admin)
    await client.post(
        "/api/v1/admin/credits/grants",
        json={"user_id": str(account.id), "amount": 100, "reason": "load"},
        headers=admin.headers,
    )
    chats = [await chat_for(client, account) for _ in range(6)]
    responses = await asyncio.gather(
        *(
            ask(client, account, chat_id, slug)
            for chat_id in chats
            for slug in ("activity", "initiators", "keywords")
        )
    )
    assert {r.status_code for r in responses} == {202}
    assert await balance(client, account) == 110 - 6 * (1 + 1 + 2)
    await outbox.wait_idle()


async def test_the_model_endpoint_is_retried_then_the_job_is_retried(
    client: httpx.AsyncClient, model_server: dict[str, Any], summary_on_openai: Account
) -> None:
    """503s are retried inside the provider (bounded); when they outlast it, the job goes back
    to `pending` for a later attempt with no refund; a later success completes it."""
    account = summary_on_openai
    insight_id, job_id = await requested_job(client, account)
    settings = get_settings()
    settings.openai_max_retries = 1
    model_server["mode"] = "busy"
    assert await insights_service.run_job(job_id) == insights_service.JobOutcome.RETRY
    [job] = await jobs_of(insight_id)
    assert (job.status, job.attempts) == ("pending", 1)
    assert await balance(client, account) == 7  # charged, not refunded

    from src.insights.providers import local
    from src.insights.providers.base import InsightOptions

    model_server["answer"] = local.compute("summary", [], InsightOptions())
    model_server["calls"] = 0
    model_server["mode"] = "flaky"  # two 503s, then an answer
    settings.openai_max_retries = 2
    assert await insights_service.run_job(job_id) == insights_service.JobOutcome.COMPLETED
    done = (await client.get(f"/api/v1/insights/{insight_id}", headers=account.headers)).json()
    assert done["status"] == "completed"
    assert model_server["calls"] == 3
