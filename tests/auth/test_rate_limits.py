"""Abuse limits in Redis: sign-ins and registrations per client address, sign-ins per
account, checkouts and worker pings per user. Each answers 429 in the envelope with
Retry-After and the RateLimit header fields once its limit is passed."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from src.config import get_settings
from tests.factories import assert_envelope, register


@pytest.fixture
def limits() -> Iterator[Any]:
    """Set limits for one test (the suite lifts them); every key this test counts is new,
    because each test uses accounts of its own and a fresh address."""
    settings = get_settings()
    names = [
        "auth_attempts_per_minute_per_address",
        "auth_attempts_per_minute_per_account",
        "payments_per_minute",
        "diagnostics_per_minute",
    ]
    before = {name: getattr(settings, name) for name in names}
    yield settings
    for name, value in before.items():
        setattr(settings, name, value)


def from_address(app: Any) -> httpx.AsyncClient:
    """A client at an address of its own, so that other tests' sign-ins do not count."""
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def assert_limited(response: httpx.Response, limit: int) -> None:
    assert_envelope(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["RateLimit-Limit"] == str(limit)
    assert response.headers["RateLimit-Remaining"] == "0"
    assert response.headers["RateLimit-Policy"] == f"{limit};w=60"


async def test_wrong_passwords_from_one_address_are_limited(app: Any, limits: Any) -> None:
    limits.auth_attempts_per_minute_per_address = 3
    async with from_address(app) as client:
        for n in range(3):
            wrong = await client.post(
                "/api/v1/auth/token",
                data={"username": f"nobody-{n}-{uuid.uuid4().hex}@example.com", "password": "x"},
            )
            assert wrong.status_code == 401
        limited = await client.post(
            "/api/v1/auth/token", data={"username": "a@example.com", "password": "wrong-pass"}
        )
        assert_limited(limited, 3)
        # Registration shares the address's count.
        assert_limited(
            await client.post(
                "/api/v1/auth/register",
                json={"email": f"{uuid.uuid4().hex}@example.com", "password": "long-enough-1"},
            ),
            3,
        )
    async with from_address(app) as elsewhere:
        fine = await elsewhere.post(
            "/api/v1/auth/token", data={"username": "a@example.com", "password": "wrong-pass"}
        )
        assert fine.status_code == 401


async def test_guessing_one_accounts_password_is_limited_from_any_address(
    app: Any, client: httpx.AsyncClient, limits: Any
) -> None:
    account = await register(client)  # signs in once: that counts too
    limits.auth_attempts_per_minute_per_account = 3
    for _ in range(2):
        async with from_address(app) as guesser:
            response = await guesser.post(
                "/api/v1/auth/token", data={"username": account.email, "password": "guess-1234"}
            )
            assert response.status_code == 401
    async with from_address(app) as guesser:
        # Even the right password, in any case of the email: the account's budget is spent.
        response = await guesser.post(
            "/api/v1/auth/token",
            data={"username": account.email.upper(), "password": account.password},
        )
        assert_limited(response, 3)


async def test_checkouts_and_pings_are_limited_per_user(
    client: httpx.AsyncClient, limits: Any
) -> None:
    account = await register(client)
    limits.payments_per_minute = 2
    limits.diagnostics_per_minute = 1
    for _ in range(2):
        created = await client.post(
            "/api/v1/payments", json={"package": "small"}, headers=account.headers
        )
        assert created.status_code == 201
    assert_limited(
        await client.post("/api/v1/payments", json={"package": "small"}, headers=account.headers),
        2,
    )
    other = await register(client)
    assert (
        await client.post("/api/v1/payments", json={"package": "small"}, headers=other.headers)
    ).status_code == 201
    assert (
        await client.post("/api/v1/diagnostics/ping", headers=account.headers)
    ).status_code == 202
    assert_limited(await client.post("/api/v1/diagnostics/ping", headers=account.headers), 1)


async def test_refresh_and_logout_count_with_sign_ins(app: Any, limits: Any) -> None:
    limits.auth_attempts_per_minute_per_address = 2
    async with from_address(app) as client:
        body = {"refresh_token": "not-a-token"}
        assert (await client.post("/api/v1/auth/refresh", json=body)).status_code == 401
        assert (await client.post("/api/v1/auth/logout", json=body)).status_code == 204
        assert_limited(await client.post("/api/v1/auth/logout", json=body), 2)
