"""Every mapped model, imported once so that `Base.metadata` is complete (Alembic, tests)."""

from src.auth.models import RefreshToken
from src.categories.models import Category, InsightType
from src.chats.models import Chat, ChatMessage, ChatUpload
from src.credits.models import CreditTransaction
from src.database import Base
from src.insights.models import Insight, InsightGenerationJob
from src.outbox.models import OutboxMessage
from src.payments.models import Payment, PaymentEvent
from src.rag.models import AIConversation, AIMessage, ChatChunk
from src.users.models import User

__all__ = [
    "AIConversation",
    "AIMessage",
    "Base",
    "ChatChunk",
    "Category",
    "Chat",
    "ChatMessage",
    "ChatUpload",
    "CreditTransaction",
    "Insight",
    "InsightGenerationJob",
    "InsightType",
    "OutboxMessage",
    "Payment",
    "PaymentEvent",
    "RefreshToken",
    "User",
]
