import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.factories import assert_envelope, make_admin, register

ROOT = Path(__file__).resolve().parents[2]


async def test_new_users_get_signup_credits_through_the_ledger(client: httpx.AsyncClient) -> None:
    account = await register(client)
    balance = await client.get("/api/v1/credits/balance", headers=account.headers)
    assert balance.json() == {"balance": 10}
    ledger = (await client.get("/api/v1/credits/transactions", headers=account.headers)).json()
    assert ledger["next_cursor"] is None
    [entry] = ledger["items"]
    assert (entry["amount"], entry["balance_after"], entry["kind"]) == (10, 10, "signup")


async def test_admin_grant_is_admin_only_and_idempotent(client: httpx.AsyncClient) -> None:
    admin, user = await register(client), await register(client)
    body = {"email": user.email, "amount": 25, "reason": "support"}
    refused = await client.post("/api/v1/admin/credits/grants", json=body, headers=admin.headers)
    assert_envelope(refused, 403, "forbidden")

    await make_admin(admin)
    headers = {**admin.headers, "Idempotency-Key": "ticket-42"}
    first = await client.post("/api/v1/admin/credits/grants", json=body, headers=headers)
    again = await client.post("/api/v1/admin/credits/grants", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["transaction"]["id"] == first.json()["transaction"]["id"]
    balance = await client.get("/api/v1/credits/balance", headers=user.headers)
    assert balance.json() == {"balance": 35}

    other = await client.post(
        "/api/v1/admin/credits/grants", json={**body, "amount": 5}, headers=headers
    )
    assert_envelope(other, 409, "idempotency_key_reused")


async def test_a_users_ledger_does_not_name_the_granting_admin(client: httpx.AsyncClient) -> None:
    admin, user = await register(client), await register(client)
    await make_admin(admin)
    granted = await client.post(
        "/api/v1/admin/credits/grants",
        json={"email": user.email, "amount": 5, "reason": "goodwill"},
        headers=admin.headers,
    )
    assert granted.status_code == 201
    ledger = await client.get("/api/v1/credits/transactions", headers=user.headers)
    [entry] = [item for item in ledger.json()["items"] if item["kind"] == "admin_grant"]
    assert entry["amount"] == 5
    assert str(admin.id) not in ledger.text
    assert admin.email not in ledger.text


async def test_admin_grant_validates_its_input(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    await make_admin(admin)
    for body in (
        {"amount": 5, "reason": "none"},
        {"email": admin.email, "amount": 0, "reason": "zero"},
        {"email": admin.email, "amount": -3, "reason": "negative"},
    ):
        response = await client.post(
            "/api/v1/admin/credits/grants", json=body, headers=admin.headers
        )
        assert_envelope(response, 422, "validation_error")
    missing = await client.post(
        "/api/v1/admin/credits/grants",
        json={"email": "nobody-here@example.com", "amount": 5, "reason": "x"},
        headers=admin.headers,
    )
    assert_envelope(missing, 404, "not_found")


async def test_transactions_paginate_newest_first(client: httpx.AsyncClient) -> None:
    admin, user = await register(client), await register(client)
    await make_admin(admin)
    for amount in range(1, 6):
        response = await client.post(
            "/api/v1/admin/credits/grants",
            json={"user_id": str(user.id), "amount": amount, "reason": "page"},
            headers=admin.headers,
        )
        assert response.status_code == 201
    seen: list[Any] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get("/api/v1/credits/transactions", params=params, headers=user.headers)
        ).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [item["amount"] for item in seen] == [5, 4, 3, 2, 1, 10]
    assert [item["balance_after"] for item in seen] == [25, 20, 16, 13, 11, 10]

    for bad in ({"limit": 101}, {"limit": 0}, {"cursor": "not-a-cursor"}):
        response = await client.get(
            "/api/v1/credits/transactions", params=bad, headers=user.headers
        )
        assert response.status_code == 422


async def run_cli(*args: str) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "src.cli",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await process.wait()


async def test_cli_make_admin(client: httpx.AsyncClient) -> None:
    account = await register(client)
    assert await run_cli("make-admin", account.email.upper()) == 0
    me = await client.get("/api/v1/users/me", headers=account.headers)
    assert me.json()["is_admin"] is True
    assert await run_cli("make-admin", "nobody@example.com") == 1
