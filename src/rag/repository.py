import uuid
from datetime import datetime

from sqlalchemy import select

from src.chats.models import Chat
from src.pagination import PageParams, keyset_page
from src.rag.models import AIConversation, AIMessage
from src.repository import Repository


class ConversationRepository(Repository[AIConversation]):
    model = AIConversation

    async def page(
        self, user_id: uuid.UUID, params: PageParams
    ) -> tuple[list[AIConversation], str | None]:
        return await keyset_page(
            self.session,
            select(AIConversation).where(AIConversation.user_id == user_id),
            [AIConversation.created_at, AIConversation.id],
            params,
            convert=[datetime.fromisoformat, uuid.UUID],
        )

    async def messages(self, conversation_id: uuid.UUID) -> list[AIMessage]:
        statement = (
            select(AIMessage)
            .where(AIMessage.conversation_id == conversation_id)
            .order_by(AIMessage.id)
        )
        return list((await self.session.scalars(statement)).all())

    async def recent_messages(self, conversation_id: uuid.UUID, limit: int) -> list[AIMessage]:
        statement = (
            select(AIMessage)
            .where(AIMessage.conversation_id == conversation_id)
            .order_by(AIMessage.id.desc())
            .limit(limit)
        )
        return list(reversed((await self.session.scalars(statement)).all()))

    async def live_owned_chats(self, user_id: uuid.UUID, chat_ids: list[uuid.UUID]) -> list[Chat]:
        statement = select(Chat).where(Chat.id.in_(chat_ids), Chat.user_id == user_id)
        return list((await self.session.scalars(statement)).all())
