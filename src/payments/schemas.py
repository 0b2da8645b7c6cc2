import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from src.payments.models import PaymentStatus


class PackageRead(BaseModel):
    name: str
    credits: int
    amount_cents: int
    currency: str


class PaymentCreate(BaseModel):
    package: str = Field(min_length=1, max_length=32, description="A name from /payments/packages")

    model_config = ConfigDict(json_schema_extra={"examples": [{"package": "small"}]})


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    package: str
    credits: int
    amount_cents: int
    currency: str
    provider: Literal["fake", "stripe"]
    status: PaymentStatus
    checkout_url: str | None = Field(description="Where to send the buyer to pay.")
    complete_url: str | None = Field(
        default=None,
        description="Fake provider only: POST here (as the owner) to simulate a paid checkout.",
    )
    paid_at: datetime | None
    refunded_at: datetime | None
    credits_granted: int
    credits_reversed: int
    credits_unrecovered: int = Field(
        description="Refunded credits the balance could not cover (already spent)."
    )
    created_at: datetime


class WebhookAck(BaseModel):
    received: bool = True
    outcome: str
