import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from src.credits.models import CreditKind


class Balance(BaseModel):
    balance: int


class CreditTransactionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    amount: int = Field(description="Signed: positive adds credits, negative takes them.")
    balance_after: int
    kind: CreditKind
    reference_type: str | None
    reference_id: str | None
    created_at: datetime


class AdminGrantCreate(BaseModel):
    """Who gets the credits: `user_id` or `email`."""

    user_id: uuid.UUID | None = None
    email: EmailStr | None = None
    amount: int = Field(gt=0, le=1_000_000)
    reason: str = Field(min_length=1, max_length=200)
    idempotency_key: str | None = Field(
        default=None,
        max_length=150,
        description="Replaying a key returns the first grant; defaults to the "
        "`Idempotency-Key` header.",
    )

    @model_validator(mode="after")
    def _one_recipient(self) -> "AdminGrantCreate":
        if (self.user_id is None) == (self.email is None):
            raise ValueError("give exactly one of user_id and email")
        return self

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "amount": 25, "reason": "support"}]
        }
    )


class AdminGrantRead(BaseModel):
    user_id: uuid.UUID
    transaction: CreditTransactionRead
