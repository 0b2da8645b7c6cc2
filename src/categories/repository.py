from sqlalchemy import select

from src.categories.models import Category, InsightType
from src.repository import Repository


class CategoryRepository(Repository[Category]):
    model = Category

    async def list_with_types(
        self, *, include_inactive: bool = False
    ) -> list[tuple[Category, list[InsightType]]]:
        categories = select(Category).order_by(Category.position, Category.slug)
        types = select(InsightType).order_by(InsightType.position, InsightType.slug)
        if not include_inactive:
            categories = categories.where(Category.is_active)
            types = types.where(InsightType.is_active)
        found = list((await self.session.scalars(categories)).all())
        by_category: dict[int, list[InsightType]] = {category.id: [] for category in found}
        for insight_type in (await self.session.scalars(types)).all():
            if insight_type.category_id in by_category:
                by_category[insight_type.category_id].append(insight_type)
        return [(category, by_category[category.id]) for category in found]

    async def get_by_slug(self, slug: str) -> Category | None:
        return (
            await self.session.execute(select(Category).where(Category.slug == slug))
        ).scalar_one_or_none()


class InsightTypeRepository(Repository[InsightType]):
    model = InsightType

    async def get_by_slug(self, slug: str) -> InsightType | None:
        return (
            await self.session.execute(select(InsightType).where(InsightType.slug == slug))
        ).scalar_one_or_none()

    async def for_category(self, category_id: int, *, include_inactive: bool) -> list[InsightType]:
        statement = (
            select(InsightType)
            .where(InsightType.category_id == category_id)
            .order_by(InsightType.position, InsightType.slug)
        )
        if not include_inactive:
            statement = statement.where(InsightType.is_active)
        return list((await self.session.scalars(statement)).all())
