"""Small async factories for tests."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import update

from src.database import SessionLocal
from src.users.models import User

PASSWORD = "correct horse battery"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


@dataclass
class Account:
    id: uuid.UUID
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(client: httpx.AsyncClient, **fields: Any) -> Account:
    email = fields.pop("email", None) or unique_email()
    password = fields.pop("password", PASSWORD)
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, **fields}
    )
    assert response.status_code == 201, response.text
    token = await login(client, email, password)
    return Account(uuid.UUID(response.json()["id"]), email, password, token)


async def login(client: httpx.AsyncClient, email: str, password: str) -> str:
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def make_admin(account: Account) -> None:
    async with SessionLocal() as session:
        await session.execute(update(User).where(User.id == account.id).values(is_admin=True))
        await session.commit()


async def balance(client: httpx.AsyncClient, account: Account) -> int:
    response = await client.get("/api/v1/credits/balance", headers=account.headers)
    value: int = response.json()["balance"]
    return value


def assert_envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    """The one error envelope, with this status and code, carrying the response's id."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    return error
