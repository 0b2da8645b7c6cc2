import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select, update

from src.categories.models import InsightType
from src.chats.models import Chat, ChatMessage
from src.insights.models import Insight, InsightGenerationJob, InsightStatus
from src.insights.providers.base import InsightMessage
from src.pagination import PageParams, keyset_rows
from src.repository import Repository

_MESSAGES = (
    select(
        ChatMessage.seq, ChatMessage.sender, ChatMessage.sent_at, ChatMessage.text, ChatMessage.kind
    )
    .where(ChatMessage.chat_id == bindparam("chat_id"))
    .order_by(ChatMessage.seq)
)


class InsightRepository(Repository[Insight]):
    model = Insight

    async def mark_stale(self, chat_id: uuid.UUID, statuses: tuple[InsightStatus, ...]) -> int:
        result = await self.session.execute(
            update(Insight)
            .where(Insight.chat_id == chat_id, Insight.status.in_(statuses), ~Insight.stale)
            .values(stale=True)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def owned_with_slug(
        self, insight_id: uuid.UUID, user_id: uuid.UUID
    ) -> tuple[Insight, str] | None:
        """The insight if its chat is the user's and is not deleted (a deleted chat hides its
        insights)."""
        statement = (
            select(Insight, InsightType.slug)
            .join(InsightType, InsightType.id == Insight.insight_type_id)
            .join(Chat, Chat.id == Insight.chat_id)
            .where(Insight.id == insight_id, Chat.user_id == user_id)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return (row[0], row[1]) if row else None

    async def claim_job(self, job_id: uuid.UUID) -> InsightGenerationJob | None:
        """pending -> running, counting the attempt; None when the job is not pending (a
        duplicate delivery, or it finished)."""
        statement = (
            update(InsightGenerationJob)
            .where(
                InsightGenerationJob.id == job_id,
                InsightGenerationJob.status == InsightStatus.PENDING.value,
            )
            .values(
                status=InsightStatus.RUNNING.value,
                attempts=InsightGenerationJob.attempts + 1,
                claimed_at=datetime.now().astimezone(),
            )
            .returning(InsightGenerationJob)
        )
        result = await self.session.execute(
            statement, execution_options={"populate_existing": True}
        )
        job: InsightGenerationJob | None = result.scalar_one_or_none()
        return job

    async def set_job(self, job_id: uuid.UUID, from_status: str, values: dict[str, Any]) -> bool:
        result = await self.session.execute(
            update(InsightGenerationJob)
            .where(InsightGenerationJob.id == job_id, InsightGenerationJob.status == from_status)
            .values(**values)
            .returning(InsightGenerationJob.id)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none() is not None

    async def set_insight(
        self, insight_id: uuid.UUID, generation: int, values: dict[str, Any]
    ) -> bool:
        """Write to the insight only if `generation` is still its current one."""
        result = await self.session.execute(
            update(Insight)
            .where(Insight.id == insight_id, Insight.generation == generation)
            .values(**values)
            .returning(Insight.id)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none() is not None

    async def job_context(self, insight_id: uuid.UUID) -> tuple[Insight, InsightType, Chat] | None:
        statement = (
            select(Insight, InsightType, Chat)
            .join(InsightType, InsightType.id == Insight.insight_type_id)
            .join(Chat, Chat.id == Insight.chat_id)
            .where(Insight.id == insight_id)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return (row[0], row[1], row[2]) if row else None

    async def messages(self, chat_id: uuid.UUID) -> list[InsightMessage]:
        """The chat's messages as the providers read them: five columns per row, no ORM
        object built for each (a chat's thousands of messages are read per insight)."""
        result = await self.session.execute(_MESSAGES, {"chat_id": chat_id})
        return [InsightMessage(*row) for row in result]

    async def open_jobs_older_than(
        self, status: str, before: datetime, limit: int = 500
    ) -> list[InsightGenerationJob]:
        statement = (
            select(InsightGenerationJob)
            .where(InsightGenerationJob.status == status, InsightGenerationJob.updated_at < before)
            .order_by(InsightGenerationJob.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.scalars(statement)).all())


async def page_for_chat(
    chat_id: uuid.UUID, params: PageParams
) -> tuple[list[Row[Any]], str | None]:
    """A page of the chat's insights in catalogue order (the type's position, then its slug:
    one insight per type and chat), as rows of the insight's columns with `slug`, read with
    no transaction."""
    statement = (
        select(*Insight.__table__.c, InsightType.slug, InsightType.position)
        .join(InsightType, InsightType.id == Insight.insight_type_id)
        .where(Insight.chat_id == chat_id)
    )
    return await keyset_rows(
        statement, [InsightType.position, InsightType.slug], params, descending=False
    )
