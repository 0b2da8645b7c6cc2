import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from src.database import Base


class CreditKind(StrEnum):
    SIGNUP = "signup"
    PURCHASE = "purchase"
    PURCHASE_REFUND = "purchase_refund"
    INSIGHT_CHARGE = "insight_charge"
    INSIGHT_REFUND = "insight_refund"
    ADMIN_GRANT = "admin_grant"


class CreditTransaction(Base):
    """The append-only ledger: one row per balance change, written in the same transaction as
    the change. Invariant: a user's balance is the sum of their rows' `amount`."""

    __tablename__ = "credit_transactions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    amount: Mapped[int] = mapped_column(Integer, nullable=False)
    balance_after: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    reference_type: Mapped[str | None] = mapped_column(String(32))
    reference_id: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        CheckConstraint("balance_after >= 0", name="balance_after_non_negative"),
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind.value}'" for kind in CreditKind) + ")",
            name="kind_known",
        ),
        # The ledger listing, newest first, per user.
        Index("ix_credit_transactions_user_id_id", "user_id", "id"),
    )
