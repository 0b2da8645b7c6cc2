"""The broker goes away while requests arrive; the API's database connections are terminated
under load; the API crashes between a commit and the relay of what it staged.

The API, the worker and beat run as processes of their own, as `make run` runs them; the
broker is reached through a proxy that can drop every connection and refuse new ones."""

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy import func, select

from src import broker
from src.config import get_settings
from src.credits.models import CreditKind, CreditTransaction
from src.database import SessionLocal, engine
from src.insights import service as insights_service
from src.insights.models import InsightGenerationJob
from src.outbox import service as outbox
from src.outbox.models import OutboxMessage
from src.users.models import User
from tests.chats.test_api import unique_export
from tests.factories import Account, register
from tests.faults.conftest import (
    Figures,
    grant,
    insight_figures,
    insight_outcomes,
    insights_ended,
    quiesce,
    until,
)
from tests.faults.processes import proxy_to, start_api, start_beat, start_worker


async def new_chat(http: httpx.AsyncClient, account: Account) -> str:
    response = await http.post(
        "/api/v1/chats/import",
        files={"file": ("WhatsApp Chat with Ana.txt", unique_export(), "text/plain")},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    chat_id: str = response.json()["id"]
    return chat_id


async def local_insight_types(http: httpx.AsyncClient) -> list[str]:
    categories = (await http.get("/api/v1/categories")).json()
    return [
        kind["slug"]
        for category in categories
        for kind in category["insight_types"]
        if kind["provider"] == "local" and kind["is_active"]
    ]


async def test_the_broker_goes_away_while_requests_arrive(
    record: Callable[[Figures], None],
) -> None:
    """Insights are requested for six seconds; the broker is gone for the middle three. Every
    request is answered; every accepted insight completes once the broker is back."""
    await quiesce()
    async with proxy_to(get_settings().redis_url) as proxy:
        env = {
            "REDIS_URL": proxy.url,
            "OUTBOX_RELAY_INTERVAL_SECONDS": "1",
            "SWEEPER_INTERVAL_SECONDS": "2",
        }
        api = await start_api(**env)
        worker = await start_worker(**env)
        beat = await start_beat(**env)
        try:
            async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
                kinds = await local_insight_types(http)
                accounts = [await register(http) for _ in range(6)]
                for account in accounts:
                    await grant(account.id, 1000)
                chats = {a.id: [await new_chat(http, a) for _ in range(2)] for a in accounts}
                statuses: Counter[int] = Counter()
                during: Counter[int] = Counter()
                accepted: list[uuid.UUID] = []
                outage = [0.0, 0.0]

                async def user(account: Account) -> None:
                    for chat_id in chats[account.id]:
                        for kind in kinds:
                            response = await http.post(
                                f"/api/v1/chats/{chat_id}/insights",
                                json={"insight_type": kind},
                                headers=account.headers,
                            )
                            statuses[response.status_code] += 1
                            if outage[0] and not outage[1]:
                                during[response.status_code] += 1
                            if response.status_code == 202:
                                accepted.append(uuid.UUID(response.json()["id"]))
                            await asyncio.sleep(6 / (2 * len(kinds)))

                async def broker_outage() -> None:
                    await asyncio.sleep(1.5)
                    await proxy.down()
                    outage[0] = time.monotonic()
                    await asyncio.sleep(3)
                    await proxy.up()
                    outage[1] = time.monotonic()

                await asyncio.gather(broker_outage(), *(user(a) for a in accounts))

                await until(lambda: insights_ended(accepted))
                recovery = time.monotonic() - outage[1]
        finally:
            for process in (beat, worker, api.process):
                await process.stop()

    outcomes = await insight_outcomes(accepted)
    figures = insight_figures(
        "the broker drops every connection and refuses new ones for 3 s while insights are "
        "requested",
        outcomes,
        recovery,
        f"requests {sum(statuses.values())}, during the outage {sum(during.values())}; "
        f"answers {dict(sorted(statuses.items()))}",
    )
    record(figures)
    assert set(statuses) == {202}, statuses
    assert sum(during.values()) > 0
    assert figures.lost == figures.doubled == 0
    assert figures.done == figures.jobs


async def test_the_api_database_connections_are_terminated_under_load(
    record: Callable[[Figures], None],
) -> None:
    """Sixteen users read, pay and spend for eight seconds; for three of them, every database
    connection of the API is terminated five times a second. Answers are 2xx or 503 (never
    500), they are 2xx again once it stops, and every balance equals its ledger."""
    await quiesce()
    api = await start_api()
    try:
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
            kinds = await local_insight_types(http)
            accounts = [await register(http) for _ in range(16)]
            for account in accounts:
                await grant(account.id, 1000)
            chats = {a.id: await new_chat(http, a) for a in accounts}
            statuses: Counter[int] = Counter()
            bodies: list[str] = []
            terminating = [0.0, 0.0]  # first and last termination
            first_ok_after = [0.0]

            def answered(response: httpx.Response) -> None:
                statuses[response.status_code] += 1
                if response.status_code >= 500 and response.status_code != 503:
                    bodies.append(response.text[:300])
                if response.status_code == 503 and not (
                    response.headers.get("Retry-After")
                    and response.json()["error"]["code"] == "service_unavailable"
                ):
                    bodies.append(f"503 without Retry-After or envelope: {response.text[:300]}")
                if (
                    response.status_code < 300
                    and terminating[1]
                    and not first_ok_after[0]
                    and time.monotonic() > terminating[1]
                ):
                    first_ok_after[0] = time.monotonic()

            async def user(account: Account) -> None:
                deadline = time.monotonic() + 8
                step = 0
                while time.monotonic() < deadline:
                    step += 1
                    answered(await http.get("/api/v1/credits/balance", headers=account.headers))
                    answered(
                        await http.post(
                            f"/api/v1/chats/{chats[account.id]}/insights",
                            json={"insight_type": kinds[step % len(kinds)]},
                            params={"regenerate": "true"},
                            headers=account.headers,
                        )
                    )
                    payment = await http.post(
                        "/api/v1/payments",
                        json={"package": "small"},
                        headers={**account.headers, "Idempotency-Key": uuid.uuid4().hex},
                    )
                    answered(payment)
                    if payment.status_code in (200, 201):
                        answered(
                            await http.post(
                                f"/api/v1/payments/{payment.json()['id']}/fake-complete",
                                headers=account.headers,
                            )
                        )

            async def terminate() -> None:
                await asyncio.sleep(2)
                terminating[0] = time.monotonic()
                # A connection of its own, named apart from the API's.
                killer = await asyncpg.connect(
                    get_settings().database_url.replace("+asyncpg", ""),
                    server_settings={"application_name": "chatsight-faults"},
                )
                try:
                    while time.monotonic() < terminating[0] + 3:
                        await killer.execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE application_name = 'chatsight-api'"
                            " AND datname = current_database()"
                        )
                        terminating[1] = time.monotonic()
                        await asyncio.sleep(0.2)
                finally:
                    await killer.close()

            await asyncio.gather(terminate(), *(user(a) for a in accounts))
    finally:
        await api.process.stop()
    # This process's own pooled connections carry the API's name and were terminated too.
    await engine.dispose()

    user_ids = [a.id for a in accounts]
    async with SessionLocal() as session:
        balances = {
            user_id: balance
            for user_id, balance in await session.execute(
                select(User.id, User.credits_balance).where(User.id.in_(user_ids))
            )
        }
        ledger = {
            user_id: total
            for user_id, total in await session.execute(
                select(CreditTransaction.user_id, func.sum(CreditTransaction.amount))
                .where(CreditTransaction.user_id.in_(user_ids))
                .group_by(CreditTransaction.user_id)
            )
        }
        purchases = await session.execute(
            select(CreditTransaction.reference_id, func.count())
            .where(
                CreditTransaction.user_id.in_(user_ids),
                CreditTransaction.kind == CreditKind.PURCHASE.value,
            )
            .group_by(CreditTransaction.reference_id)
            .having(func.count() > 1)
        )
        doubled_purchases = len(purchases.all())
    unequal = sum(balances[u] != ledger.get(u) for u in user_ids)
    figures = Figures(
        fault="pg_terminate_backend on every API connection, 5 times a second for 3 s, "
        "under 16 users reading, paying and spending",
        jobs=sum(statuses.values()),
        done=sum(n for status, n in statuses.items() if status < 300),
        failed=statuses.get(503, 0),
        lost=sum(n for status, n in statuses.items() if status >= 500 and status != 503),
        doubled=doubled_purchases,
        recovery_seconds=round(max(0.0, first_ok_after[0] - terminating[1]), 1),
        notes=f"jobs = requests, failed = answered 503; balances unequal to their ledger: "
        f"{unequal}; answers {dict(sorted(statuses.items()))}",
    )
    record(figures)
    assert statuses.get(503, 0) > 0, "no request met a terminated connection"
    assert figures.lost == 0
    assert not bodies, bodies[:3]
    assert unequal == 0
    assert doubled_purchases == 0
    assert first_ok_after[0] > 0


async def test_a_crash_between_commit_and_relay_runs_each_job_once(
    record: Callable[[Figures], None],
) -> None:
    """The API commits insight requests (their tasks staged in the outbox) but cannot publish
    them (the broker is unreachable from it), and is SIGKILLed. For half of them the crashed
    relay is taken to have published before it could record it, so they are delivered twice.
    The periodic relay publishes them all; each job runs once."""
    await quiesce()
    async with proxy_to(get_settings().redis_url) as proxy:
        api = await start_api(REDIS_URL=proxy.url)
        try:
            async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
                kinds = await local_insight_types(http)
                account = await register(http)
                await grant(account.id, 1000)
                chat_ids = [await new_chat(http, account) for _ in range(2)]
                await proxy.down()
                accepted = []
                for chat_id in chat_ids:
                    for kind in kinds:
                        response = await http.post(
                            f"/api/v1/chats/{chat_id}/insights",
                            json={"insight_type": kind},
                            headers=account.headers,
                        )
                        assert response.status_code == 202, response.text
                        accepted.append(uuid.UUID(response.json()["id"]))
        finally:
            api.process.kill()  # the crash
            await api.process.stop()

    async with SessionLocal() as session:
        jobs = (
            await session.scalars(
                select(InsightGenerationJob.id).where(InsightGenerationJob.insight_id.in_(accepted))
            )
        ).all()
        unsent = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.task_name == insights_service.GENERATE_TASK,
            )
        )
    assert unsent == len(jobs), "the relay published before the crash"
    twice = jobs[::2]
    for job_id in twice:  # what the crashed relay published without recording it
        broker.send_task(insights_service.GENERATE_TASK, (str(job_id),))

    began = time.monotonic()
    worker = await start_worker()
    try:
        await outbox.relay()  # what beat's periodic relay does

        await until(lambda: insights_ended(accepted))
        recovery = time.monotonic() - began
        await asyncio.sleep(1)  # let the second deliveries arrive
    finally:
        await worker.stop()

    outcomes = await insight_outcomes(accepted)
    async with SessionLocal() as session:
        attempts: list[Any] = list(
            (
                await session.scalars(
                    select(InsightGenerationJob.attempts).where(InsightGenerationJob.id.in_(jobs))
                )
            ).all()
        )
    figures = insight_figures(
        "the API SIGKILLed after committing insight requests, before relaying them; half of "
        "them also delivered twice",
        outcomes,
        recovery,
        f"delivered twice: {len(twice)}; jobs run more than once: {sum(a > 1 for a in attempts)}",
    )
    figures.doubled += sum(a > 1 for a in attempts)
    record(figures)
    assert figures.lost == figures.doubled == 0
    assert figures.done == figures.jobs
