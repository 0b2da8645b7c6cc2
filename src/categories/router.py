from fastapi import APIRouter, status

from src.auth.dependencies import CurrentAdmin
from src.categories import service as categories_service
from src.categories.schemas import (
    CategoryCreate,
    CategoryRead,
    CategoryUpdate,
    InsightTypeCreate,
    InsightTypeRead,
    InsightTypeUpdate,
)
from src.dependencies import DbSession
from src.error_responses import responses

router = APIRouter(prefix="/categories", tags=["categories"])
admin_router = APIRouter(prefix="/admin", tags=["admin"], responses=responses(401, 403))


@router.get("", response_model=list[CategoryRead])
async def list_categories(session: DbSession) -> list[CategoryRead]:
    """The insight catalogue: active categories with their active insight types and prices
    (`credit_cost`, in credits)."""
    return await categories_service.list_catalogue(session)


@router.get("/{slug}", response_model=CategoryRead, responses=responses(404))
async def read_category(slug: str, session: DbSession) -> CategoryRead:
    """One category with its insight types."""
    return await categories_service.get_category(session, slug)


@admin_router.post(
    "/categories",
    status_code=status.HTTP_201_CREATED,
    response_model=CategoryRead,
    responses=responses(409, 422),
)
async def create_category(
    data: CategoryCreate, admin: CurrentAdmin, session: DbSession
) -> CategoryRead:
    """Add a category (admins only)."""
    return await categories_service.create_category(session, data)


@admin_router.patch(
    "/categories/{slug}", response_model=CategoryRead, responses=responses(404, 422)
)
async def update_category(
    slug: str, data: CategoryUpdate, admin: CurrentAdmin, session: DbSession
) -> CategoryRead:
    """Change a category; `is_active: false` hides it and its types from the catalogue."""
    return await categories_service.update_category(session, slug, data)


@admin_router.post(
    "/insight-types",
    status_code=status.HTTP_201_CREATED,
    response_model=InsightTypeRead,
    responses=responses(404, 409, 422),
)
async def create_insight_type(
    data: InsightTypeCreate, admin: CurrentAdmin, session: DbSession
) -> InsightTypeRead:
    """Add an insight type to a category (admins only)."""
    return await categories_service.create_insight_type(session, data)


@admin_router.patch(
    "/insight-types/{slug}", response_model=InsightTypeRead, responses=responses(404, 422)
)
async def update_insight_type(
    slug: str, data: InsightTypeUpdate, admin: CurrentAdmin, session: DbSession
) -> InsightTypeRead:
    """Change an insight type: its price, provider, or whether it is on offer."""
    return await categories_service.update_insight_type(session, slug, data)
