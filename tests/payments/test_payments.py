"""Payments with the fake provider, end to end through the API and real commits."""

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from src.config import get_settings
from src.credits import service as credits_service
from src.database import SessionLocal
from src.payments.models import Payment, PaymentEvent
from src.payments.providers.fake import SIGNATURE_HEADER, FakeProvider
from src.payments.signing import sign
from tests.factories import Account, assert_envelope, balance, register

WEBHOOK = "/api/v1/payments/webhooks/fake"


def fake() -> FakeProvider:
    return FakeProvider(get_settings())


async def buy(
    client: httpx.AsyncClient, account: Account, package: str = "small"
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/payments", json={"package": package}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliver(client: httpx.AsyncClient, payload: bytes, headers: dict[str, str]) -> Any:
    return await client.post(
        WEBHOOK, content=payload, headers={**headers, "Content-Type": "application/json"}
    )


async def inbox_count(event_id: str) -> int:
    async with SessionLocal() as session:
        count = await session.scalar(
            select(func.count()).select_from(PaymentEvent).where(PaymentEvent.event_id == event_id)
        )
    return int(count or 0)


async def test_packages_are_listed(client: httpx.AsyncClient) -> None:
    packages = (await client.get("/api/v1/payments/packages")).json()
    assert {p["name"]: (p["credits"], p["amount_cents"]) for p in packages} == {
        "small": (50, 500),
        "medium": (120, 1000),
        "large": (300, 2000),
    }


async def test_checkout_then_complete_grants_the_package_once(client: httpx.AsyncClient) -> None:
    account = await register(client)
    payment = await buy(client, account)
    assert payment["status"] == "pending"
    assert payment["credits"] == 50
    assert payment["complete_url"].endswith(f"/api/v1/payments/{payment['id']}/fake-complete")

    path = f"/api/v1/payments/{payment['id']}/fake-complete"
    completed = await client.post(path, headers=account.headers)
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "succeeded"
    assert completed.json()["credits_granted"] == 50
    assert await balance(client, account) == 60

    again = await client.post(path, headers=account.headers)  # a second, different event
    assert again.status_code == 200
    assert await balance(client, account) == 60

    ledger = (await client.get("/api/v1/credits/transactions", headers=account.headers)).json()
    purchase = ledger["items"][0]
    assert (purchase["kind"], purchase["amount"], purchase["reference_id"]) == (
        "purchase",
        50,
        payment["id"],
    )


async def test_idempotency_key_same_body_same_payment(client: httpx.AsyncClient) -> None:
    account = await register(client)
    headers = {**account.headers, "Idempotency-Key": f"buy-{uuid.uuid4()}"}
    first = await client.post("/api/v1/payments", json={"package": "small"}, headers=headers)
    again = await client.post("/api/v1/payments", json={"package": "small"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = await client.post("/api/v1/payments", json={"package": "large"}, headers=headers)
    assert_envelope(other, 409, "idempotency_key_reused")


async def test_concurrent_requests_with_one_key_make_one_payment(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    headers = {**account.headers, "Idempotency-Key": f"race-{uuid.uuid4()}"}
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/payments", json={"package": "medium"}, headers=headers)
            for _ in range(10)
        )
    )
    assert {r.status_code for r in responses} == {201}
    assert sum("Idempotent-Replayed" in r.headers for r in responses) == 9
    assert len({r.json()["id"] for r in responses}) == 1
    async with SessionLocal() as session:
        count = await session.scalar(
            select(func.count()).select_from(Payment).where(Payment.user_id == account.id)
        )
    assert count == 1


async def test_unknown_package_is_422(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.post(
        "/api/v1/payments", json={"package": "gold"}, headers=account.headers
    )
    error = assert_envelope(response, 422, "unknown_package")
    assert error["details"]["packages"] == ["large", "medium", "small"]


async def test_payments_are_private(client: httpx.AsyncClient) -> None:
    owner, stranger = await register(client), await register(client)
    payment = await buy(client, owner)
    for method, path in (
        ("GET", f"/api/v1/payments/{payment['id']}"),
        ("POST", f"/api/v1/payments/{payment['id']}/fake-complete"),
    ):
        response = await client.request(method, path, headers=stranger.headers)
        assert_envelope(response, 404, "not_found")
    assert (await client.get("/api/v1/payments", headers=stranger.headers)).json()["items"] == []
    mine = (await client.get("/api/v1/payments", headers=owner.headers)).json()
    assert [item["id"] for item in mine["items"]] == [payment["id"]]
    assert await balance(client, stranger) == 10


async def test_payments_list_paginates(client: httpx.AsyncClient) -> None:
    account = await register(client)
    created = [(await buy(client, account))["id"] for _ in range(3)]
    first = (
        await client.get("/api/v1/payments", params={"limit": 2}, headers=account.headers)
    ).json()
    second = (
        await client.get(
            "/api/v1/payments",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=account.headers,
        )
    ).json()
    assert [p["id"] for p in first["items"] + second["items"]] == created[::-1]
    assert second["next_cursor"] is None


async def test_30_concurrent_deliveries_of_one_event_grant_once(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    payment = await buy(client, account)
    payload, headers = fake().signed_event("payment.succeeded", uuid.UUID(payment["id"]))
    responses = await asyncio.gather(*(deliver(client, payload, headers) for _ in range(30)))
    assert {r.status_code for r in responses} == {200}
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    assert await balance(client, account) == 60
    assert await inbox_count(json.loads(payload)["id"]) == 1


async def test_stale_tampered_or_unsigned_webhooks_are_rejected_with_no_write(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    payment = await buy(client, account)
    payment_id = uuid.UUID(payment["id"])
    secret = get_settings().fake_webhook_secret.get_secret_value()

    stale_payload, _ = fake().signed_event("payment.succeeded", payment_id)
    stale = {SIGNATURE_HEADER: sign(stale_payload, secret, int(time.time()) - 301)}
    good_payload, good_headers = fake().signed_event("payment.succeeded", payment_id)
    tampered = good_payload.replace(b"payment.succeeded", b"payment.refunded")
    wrong_secret = {SIGNATURE_HEADER: sign(good_payload, "not-the-secret")}

    for payload, headers in (
        (stale_payload, stale),
        (tampered, good_headers),
        (good_payload, wrong_secret),
        (good_payload, {}),
        (b"not json", {SIGNATURE_HEADER: sign(b"not json", secret)}),
    ):
        response = await deliver(client, payload, headers)
        assert_envelope(response, 400, "invalid_webhook")
    for payload in (stale_payload, good_payload):
        assert await inbox_count(json.loads(payload)["id"]) == 0
    assert await balance(client, account) == 10


async def test_only_the_configured_provider_takes_webhooks(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/payments/webhooks/stripe", content=b"{}")
    assert_envelope(response, 404, "not_found")


@pytest.mark.parametrize(
    "order", [("payment.succeeded", "payment.refunded"), ("payment.refunded", "payment.succeeded")]
)
async def test_success_and_refund_in_either_order_end_the_same(
    client: httpx.AsyncClient, order: tuple[str, str]
) -> None:
    account = await register(client)
    payment = await buy(client, account)
    for event_type in order:
        payload, headers = fake().signed_event(event_type, uuid.UUID(payment["id"]))
        assert (await deliver(client, payload, headers)).status_code == 200
    state = (await client.get(f"/api/v1/payments/{payment['id']}", headers=account.headers)).json()
    assert state["status"] == "refunded"
    assert state["paid_at"] is not None
    assert state["refunded_at"] is not None
    assert state["credits_granted"] == state["credits_reversed"]
    assert state["credits_unrecovered"] == 0
    assert await balance(client, account) == 10


async def test_refund_takes_back_what_the_balance_allows(client: httpx.AsyncClient) -> None:
    account = await register(client)
    payment = await buy(client, account)
    payment_id = uuid.UUID(payment["id"])
    payload, headers = fake().signed_event("payment.succeeded", payment_id)
    await deliver(client, payload, headers)
    await credits_service.run(
        lambda s: credits_service.charge(s, account.id, 40, idempotency_key="spend")
    )
    payload, headers = fake().signed_event("payment.refunded", payment_id)
    assert (await deliver(client, payload, headers)).json()["outcome"] == "refunded"

    state = (await client.get(f"/api/v1/payments/{payment_id}", headers=account.headers)).json()
    assert (state["credits_granted"], state["credits_reversed"], state["credits_unrecovered"]) == (
        50,
        20,
        30,
    )
    assert await balance(client, account) == 0
