"""A stolen token is worth less: a password change, or signing out everywhere, ends every
token issued before it."""

import httpx

from tests.factories import assert_envelope, login, register

NEW_PASSWORD = "a-new-password-42"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_password_change_ends_every_earlier_token(client: httpx.AsyncClient) -> None:
    account = await register(client)
    other_device = await login(client, account.email, account.password)
    changed = await client.patch(
        "/api/v1/users/me",
        json={"password": NEW_PASSWORD, "current_password": account.password},
        headers=account.headers,
    )
    assert changed.status_code == 200, changed.text
    for token in (account.token, other_device):
        assert_envelope(
            await client.get("/api/v1/users/me", headers=bearer(token)), 401, "not_authenticated"
        )
    fresh = await login(client, account.email, NEW_PASSWORD)
    assert (await client.get("/api/v1/users/me", headers=bearer(fresh))).status_code == 200


async def test_a_name_change_keeps_tokens(client: httpx.AsyncClient) -> None:
    account = await register(client)
    renamed = await client.patch(
        "/api/v1/users/me", json={"display_name": "Ada"}, headers=account.headers
    )
    assert renamed.status_code == 200
    assert (await client.get("/api/v1/users/me", headers=account.headers)).status_code == 200


async def test_logout_all_ends_every_token_until_the_next_sign_in(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    other_device = await login(client, account.email, account.password)
    out = await client.post("/api/v1/auth/logout-all", headers=account.headers)
    assert out.status_code == 204
    for token in (account.token, other_device):
        assert_envelope(
            await client.get("/api/v1/users/me", headers=bearer(token)), 401, "not_authenticated"
        )
    assert_envelope(
        await client.post("/api/v1/auth/logout-all", headers=account.headers),
        401,
        "not_authenticated",
    )
    again = await login(client, account.email, account.password)
    assert (await client.get("/api/v1/users/me", headers=bearer(again))).status_code == 200
