"""Every mapped model, imported once so that `Base.metadata` is complete (Alembic, tests)."""

from src.categories.models import Category, InsightType
from src.chats.models import Chat, ChatMessage, ChatUpload
from src.credits.models import CreditTransaction
from src.database import Base
from src.payments.models import Payment, PaymentEvent
from src.users.models import User

__all__ = [
    "Base",
    "Category",
    "Chat",
    "ChatMessage",
    "ChatUpload",
    "CreditTransaction",
    "InsightType",
    "Payment",
    "PaymentEvent",
    "User",
]
