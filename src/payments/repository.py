import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from src.database_utils import execute_with_lock_retry
from src.pagination import PageParams, keyset_page
from src.payments.models import Payment, PaymentEvent
from src.payments.providers.base import ProviderEvent
from src.repository import Repository


class PaymentRepository(Repository[Payment]):
    model = Payment

    async def lock(
        self,
        provider: str,
        *,
        payment_id: uuid.UUID | None = None,
        provider_payment_ref: str | None = None,
        wait_ms: int,
    ) -> Payment | None:
        """The payment an event is about, by our id or the provider's reference, locked."""
        criteria = []
        if payment_id is not None:
            criteria.append(Payment.id == payment_id)
        if provider_payment_ref is not None:
            criteria.append(Payment.provider_payment_ref == provider_payment_ref)
        if not criteria:
            return None
        result = await execute_with_lock_retry(
            self.session,
            select(Payment).where(Payment.provider == provider, or_(*criteria)).limit(1),
            wait_ms=wait_ms,
        )
        payment: Payment | None = result.scalar_one_or_none()
        return payment

    async def page(
        self, user_id: uuid.UUID, params: PageParams
    ) -> tuple[list[Payment], str | None]:
        statement = select(Payment).where(Payment.user_id == user_id)
        return await keyset_page(
            self.session,
            statement,
            [Payment.created_at, Payment.id],
            params,
            convert=[datetime.fromisoformat, uuid.UUID],
        )

    async def record_event(self, provider: str, event: ProviderEvent) -> int | None:
        """Insert the event into the inbox; None if (provider, event_id) is already there."""
        statement = (
            pg_insert(PaymentEvent)
            .values(
                provider=provider,
                event_id=event.event_id,
                type=event.type,
                payment_id=event.payment_id,
                provider_payment_ref=event.provider_payment_ref,
                payload=event.payload,
            )
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(PaymentEvent.id)
        )
        inserted: int | None = (await self.session.execute(statement)).scalar_one_or_none()
        return inserted

    async def finish_event(self, event_row_id: int, outcome: str, *, processed: bool) -> None:
        values: dict[str, Any] = {"outcome": outcome}
        if processed:
            values["processed_at"] = datetime.now().astimezone()
        await self.session.execute(
            update(PaymentEvent)
            .where(PaymentEvent.id == event_row_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def unmatched_events(
        self, provider: str, provider_payment_ref: str
    ) -> list[PaymentEvent]:
        statement = (
            select(PaymentEvent)
            .where(
                PaymentEvent.provider == provider,
                PaymentEvent.provider_payment_ref == provider_payment_ref,
                PaymentEvent.processed_at.is_(None),
            )
            .order_by(PaymentEvent.id)
            .with_for_update()
        )
        return list((await self.session.scalars(statement)).all())
