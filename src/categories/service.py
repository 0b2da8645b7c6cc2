"""The insight catalogue: categories and the insight types they hold, with their prices."""

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from src.categories.models import Category, InsightType
from src.categories.repository import CategoryRepository, InsightTypeRepository
from src.categories.schemas import (
    CategoryCreate,
    CategoryRead,
    CategoryUpdate,
    InsightTypeCreate,
    InsightTypeRead,
    InsightTypeUpdate,
)
from src.database_utils import UNIQUE_VIOLATION, sqlstate_of
from src.exceptions import ConflictError, NotFoundError


def _read(category: Category, types: list[InsightType]) -> CategoryRead:
    return CategoryRead(
        slug=category.slug,
        name=category.name,
        description=category.description,
        is_active=category.is_active,
        insight_types=[InsightTypeRead.model_validate(t) for t in types],
    )


async def list_catalogue(
    session: AsyncSession, *, include_inactive: bool = False
) -> list[CategoryRead]:
    pairs = await CategoryRepository(session).list_with_types(include_inactive=include_inactive)
    return [_read(category, types) for category, types in pairs]


async def get_category(
    session: AsyncSession, slug: str, *, include_inactive: bool = False
) -> CategoryRead:
    category = await CategoryRepository(session).get_by_slug(slug)
    if category is None or (not category.is_active and not include_inactive):
        raise NotFoundError("Category")
    types = await InsightTypeRepository(session).for_category(
        category.id, include_inactive=include_inactive
    )
    return _read(category, types)


async def create_category(session: AsyncSession, data: CategoryCreate) -> CategoryRead:
    category = Category(**data.model_dump())
    await _flush_unique(session, category, "A category with this slug already exists")
    return _read(category, [])


async def update_category(session: AsyncSession, slug: str, data: CategoryUpdate) -> CategoryRead:
    category = await CategoryRepository(session).get_by_slug(slug)
    if category is None:
        raise NotFoundError("Category")
    await CategoryRepository(session).update(category, data.model_dump(exclude_unset=True))
    return await get_category(session, slug, include_inactive=True)


async def create_insight_type(session: AsyncSession, data: InsightTypeCreate) -> InsightTypeRead:
    category = await CategoryRepository(session).get_by_slug(data.category)
    if category is None:
        raise NotFoundError("Category")
    values: dict[str, Any] = data.model_dump(exclude={"category"})
    insight_type = InsightType(category_id=category.id, **values)
    await _flush_unique(session, insight_type, "An insight type with this slug already exists")
    return InsightTypeRead.model_validate(insight_type)


async def update_insight_type(
    session: AsyncSession, slug: str, data: InsightTypeUpdate
) -> InsightTypeRead:
    insight_type = await InsightTypeRepository(session).get_by_slug(slug)
    if insight_type is None:
        raise NotFoundError("Insight type")
    await InsightTypeRepository(session).update(insight_type, data.model_dump(exclude_unset=True))
    return InsightTypeRead.model_validate(insight_type)


async def _flush_unique(session: AsyncSession, record: Any, message: str) -> None:
    session.add(record)
    try:
        await session.flush()
    except IntegrityError as exc:
        if sqlstate_of(exc) == UNIQUE_VIOLATION:
            raise ConflictError(message) from exc
        raise
