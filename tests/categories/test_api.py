import uuid

import httpx

from tests.factories import assert_envelope, make_admin, register


async def test_the_seeded_catalogue(client: httpx.AsyncClient) -> None:
    catalogue = (await client.get("/api/v1/categories")).json()
    seeded = {
        category["slug"]: [t["slug"] for t in category["insight_types"]] for category in catalogue
    }
    assert {k: seeded[k] for k in ("overview", "dynamics", "emotions", "topics")} == {
        "overview": ["summary", "activity"],
        "dynamics": ["response_times", "initiators"],
        "emotions": ["sentiment"],
        "topics": ["keywords"],
    }
    costs = {t["slug"]: t["credit_cost"] for c in catalogue for t in c["insight_types"]}
    assert all(costs[slug] > 0 for slug in ("summary", "activity", "sentiment"))

    one = await client.get("/api/v1/categories/dynamics")
    assert one.status_code == 200
    assert one.json()["name"] == "Dynamics"
    assert_envelope(await client.get("/api/v1/categories/nope"), 404, "not_found")


async def test_admins_manage_the_catalogue(client: httpx.AsyncClient) -> None:
    admin, user = await register(client), await register(client)
    slug = f"c-{uuid.uuid4().hex[:8]}"
    body = {"slug": slug, "name": "Extra", "description": "More insights"}
    assert_envelope(
        await client.post("/api/v1/admin/categories", json=body, headers=user.headers),
        403,
        "forbidden",
    )
    await make_admin(admin)
    created = await client.post("/api/v1/admin/categories", json=body, headers=admin.headers)
    assert created.status_code == 201
    again = await client.post("/api/v1/admin/categories", json=body, headers=admin.headers)
    assert_envelope(again, 409, "conflict")

    type_slug = f"t-{uuid.uuid4().hex[:8]}"
    new_type = await client.post(
        "/api/v1/admin/insight-types",
        json={"category": slug, "slug": type_slug, "name": "Extra type", "credit_cost": 4},
        headers=admin.headers,
    )
    assert new_type.status_code == 201
    assert new_type.json()["credit_cost"] == 4
    repriced = await client.patch(
        f"/api/v1/admin/insight-types/{type_slug}",
        json={"credit_cost": 6},
        headers=admin.headers,
    )
    assert repriced.json()["credit_cost"] == 6
    bad = await client.post(
        "/api/v1/admin/insight-types",
        json={"category": slug, "slug": "Bad Slug!", "name": "x", "credit_cost": -1},
        headers=admin.headers,
    )
    assert_envelope(bad, 422, "validation_error")

    hidden = await client.patch(
        f"/api/v1/admin/categories/{slug}", json={"is_active": False}, headers=admin.headers
    )
    assert hidden.status_code == 200
    assert_envelope(await client.get(f"/api/v1/categories/{slug}"), 404, "not_found")
    listed = [c["slug"] for c in (await client.get("/api/v1/categories")).json()]
    assert slug not in listed
