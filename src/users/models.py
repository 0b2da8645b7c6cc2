import uuid

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, Uuid, false, text, true
from sqlalchemy.orm import Mapped, mapped_column

from src.database import Base, SoftDeleteMixin, TimestampMixin


class User(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    is_active: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=True, server_default=true()
    )
    is_admin: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    # Access tokens carry the generation they were issued in; a password change or "sign out
    # everywhere" moves it on, which ends every earlier token at once.
    token_generation: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    # Changed only by src/credits/service.py, together with its ledger row.
    credits_balance: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )

    __table_args__ = (
        CheckConstraint("credits_balance >= 0", name="credits_balance_non_negative"),
        # One live account per address; a deleted account's address can be registered again.
        Index(
            "uq_users_email_live",
            "email",
            unique=True,
            postgresql_where=text("NOT is_deleted"),
        ),
    )
