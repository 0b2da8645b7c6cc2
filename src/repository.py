"""The generic repository every domain's repository builds on: SQL only, no commits."""

import uuid
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from src.database import Base

ModelT = TypeVar("ModelT", bound=Base)


class Repository(Generic[ModelT]):
    model: type[ModelT]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id_: uuid.UUID, *, include_deleted: bool = False) -> ModelT | None:
        statement = select(self.model).where(self.model.id == id_)  # type: ignore[attr-defined]
        result = await self.session.execute(
            statement, execution_options={"include_deleted": include_deleted}
        )
        return result.scalar_one_or_none()

    async def get_owned(
        self, id_: uuid.UUID, user_id: uuid.UUID, *also: ColumnElement[bool]
    ) -> ModelT | None:
        """The row with this id if `user_id` owns it (and `also` holds: one query); None for
        missing, deleted or not theirs."""
        statement = select(self.model).where(
            self.model.id == id_,  # type: ignore[attr-defined]
            self.model.user_id == user_id,  # type: ignore[attr-defined]
            *also,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(self, record: ModelT, *, flush: bool = True) -> ModelT:
        self.session.add(record)
        if flush:
            await self.session.flush()
        return record

    async def update(self, record: ModelT, values: dict[str, Any]) -> ModelT:
        for key, value in values.items():
            setattr(record, key, value)
        await self.session.flush()
        return record
