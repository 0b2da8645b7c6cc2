"""Registration, tokens and the /users/me endpoints, through the real app and database."""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from src.auth import security
from src.config import get_settings
from src.database import SessionLocal
from src.users.models import User
from tests.factories import PASSWORD, assert_envelope, login, register, unique_email


async def test_register_returns_the_account_without_secrets(client: Any) -> None:
    email = unique_email()
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email.upper(), "password": PASSWORD, "display_name": "Ada"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == email  # stored lower-case
    assert body["display_name"] == "Ada"
    assert "password" not in str(body)
    async with SessionLocal() as session:
        user = await session.scalar(select(User).where(User.email == email))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")


async def test_a_hash_made_with_other_parameters_is_remade_at_sign_in(client: Any) -> None:
    account = await register(client)
    stronger = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)
    async with SessionLocal() as session, session.begin():
        user = await session.get_one(User, account.id)
        user.password_hash = stronger.hash(PASSWORD)
    await login(client, account.email, PASSWORD)
    async with SessionLocal() as session:
        user = await session.get_one(User, account.id)
    assert "$m=19456,t=2,p=1$" in user.password_hash
    assert not security.needs_rehash(user.password_hash)
    await login(client, account.email, PASSWORD)


async def test_register_same_email_twice_is_a_conflict(client: Any) -> None:
    account = await register(client)
    response = await client.post(
        "/api/v1/auth/register", json={"email": account.email.title(), "password": PASSWORD}
    )
    assert_envelope(response, 409, "email_taken")


async def test_concurrent_registrations_of_one_email_make_one_account(client: Any) -> None:
    email = unique_email()
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
            for _ in range(10)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    async with SessionLocal() as session:
        count = len((await session.scalars(select(User.id).where(User.email == email))).all())
    assert count == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "short@example.com", "password": "short"},
        {"password": PASSWORD},
        {"email": "long@example.com", "password": PASSWORD, "display_name": "x" * 101},
    ],
)
async def test_register_rejects_bad_input_with_422(client: Any, payload: dict[str, Any]) -> None:
    response = await client.post("/api/v1/auth/register", json=payload)
    error = assert_envelope(response, 422, "validation_error")
    assert error["details"]
    assert error["details"][0]["loc"][0] == "body"


async def test_register_rejects_malformed_json(client: Any) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert_envelope(response, 422, "validation_error")


async def test_token_and_me(client: Any) -> None:
    account = await register(client, display_name="Grace")
    response = await client.get("/api/v1/users/me", headers=account.headers)
    assert response.status_code == 200
    assert response.json()["id"] == str(account.id)
    assert response.json()["display_name"] == "Grace"


async def test_token_rejects_wrong_password_and_unknown_email(client: Any) -> None:
    account = await register(client)
    for username, password in [(account.email, "wrong password"), (unique_email(), PASSWORD)]:
        response = await client.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert_envelope(response, 401, "invalid_credentials")


async def test_me_needs_a_valid_token(client: Any) -> None:
    account = await register(client)
    secret = get_settings().jwt_secret.get_secret_value()
    now = datetime.now(UTC)
    expired = jwt.encode(
        {
            "sub": str(account.id),
            "iat": now - timedelta(hours=2),
            "exp": now - timedelta(hours=1),
            "type": "access",
        },
        secret,
        "HS256",
    )
    forged = jwt.encode(
        {"sub": str(account.id), "iat": now, "exp": now + timedelta(hours=1), "type": "access"},
        "another secret, long enough to be a key",
        "HS256",
    )
    for headers in [
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {forged}"},
    ]:
        response = await client.get("/api/v1/users/me", headers=headers)
        assert_envelope(response, 401, "not_authenticated")
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_a_token_stops_counting_when_it_expires_after_use(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Verified tokens are remembered (src/auth/security.py); their expiry is not.
    account = await register(client)
    assert (await client.get("/api/v1/users/me", headers=account.headers)).status_code == 200
    later = time.time() + get_settings().access_token_minutes * 60 + 1
    monkeypatch.setattr(security, "time", SimpleNamespace(time=lambda: later))
    response = await client.get("/api/v1/users/me", headers=account.headers)
    assert_envelope(response, 401, "not_authenticated")


async def test_patch_display_name(client: Any) -> None:
    account = await register(client)
    response = await client.patch(
        "/api/v1/users/me", json={"display_name": "Ada L."}, headers=account.headers
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "Ada L."


async def test_patch_email_and_password_need_the_current_password(client: Any) -> None:
    account = await register(client)
    new_email = unique_email("moved")
    response = await client.patch(
        "/api/v1/users/me", json={"email": new_email}, headers=account.headers
    )
    assert_envelope(response, 422, "validation_error")
    response = await client.patch(
        "/api/v1/users/me",
        json={"email": new_email, "current_password": "wrong password"},
        headers=account.headers,
    )
    assert_envelope(response, 401, "invalid_credentials")
    response = await client.patch(
        "/api/v1/users/me",
        json={"email": new_email, "password": "a new password", "current_password": PASSWORD},
        headers=account.headers,
    )
    assert response.status_code == 200
    assert response.json()["email"] == new_email
    assert await login(client, new_email, "a new password")


@pytest.mark.parametrize("field", ["email", "password"])
async def test_patch_cannot_null_a_required_field(client: Any, field: str) -> None:
    account = await register(client)
    response = await client.patch(
        "/api/v1/users/me",
        json={field: None, "current_password": PASSWORD},
        headers=account.headers,
    )
    assert_envelope(response, 422, "validation_error")


async def test_patch_to_a_taken_email_is_a_conflict(client: Any) -> None:
    first, second = await register(client), await register(client)
    response = await client.patch(
        "/api/v1/users/me",
        json={"email": first.email, "current_password": PASSWORD},
        headers=second.headers,
    )
    assert_envelope(response, 409, "email_taken")


async def test_patch_on_a_locked_row_answers_503_with_retry_after(client: Any) -> None:
    account = await register(client)
    async with SessionLocal() as holder:
        await holder.execute(select(User).where(User.id == account.id).with_for_update())
        response = await client.patch(
            "/api/v1/users/me", json={"display_name": "busy"}, headers=account.headers
        )
        await holder.rollback()
    assert_envelope(response, 503, "lock_timeout")
    assert int(response.headers["Retry-After"]) >= 1
    me = await client.get("/api/v1/users/me", headers=account.headers)
    assert me.json()["display_name"] is None  # nothing half-written


async def test_delete_me_soft_deletes_and_frees_the_email(client: Any) -> None:
    account = await register(client)
    response = await client.delete("/api/v1/users/me", headers=account.headers)
    assert response.status_code == 204

    me = await client.get("/api/v1/users/me", headers=account.headers)
    assert_envelope(me, 401, "not_authenticated")
    token = await client.post(
        "/api/v1/auth/token", data={"username": account.email, "password": PASSWORD}
    )
    assert_envelope(token, 401, "invalid_credentials")

    again = await register(client, email=account.email)
    assert again.id != account.id
    async with SessionLocal() as session:
        old = await session.scalar(
            select(User).where(User.id == account.id),
            execution_options={"include_deleted": True},
        )
    assert old is not None
    assert old.is_deleted
    assert old.deleted_at is not None


async def test_unknown_user_id_in_a_valid_token_is_401(client: Any) -> None:
    from src.auth.security import create_access_token

    headers = {"Authorization": f"Bearer {create_access_token(uuid.uuid4())}"}
    assert_envelope(await client.get("/api/v1/users/me", headers=headers), 401, "not_authenticated")
