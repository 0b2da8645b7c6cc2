"""Every mapped model, imported once so that `Base.metadata` is complete (Alembic, tests)."""

from src.credits.models import CreditTransaction
from src.database import Base
from src.payments.models import Payment, PaymentEvent
from src.users.models import User

__all__ = ["Base", "CreditTransaction", "Payment", "PaymentEvent", "User"]
