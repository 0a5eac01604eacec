from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.booking.db import Base
from shared.db import MoneyAmount

# A modification waits for its payment, then for inventory to sell the new seats.
OPEN_STATUSES = ("pending_payment", "confirming")
CHANGE_PAYMENT_PREFIX = "change-"


def is_change_payment(purpose: str) -> bool:
    """Whether a payment is for a modification's difference rather than the booking itself."""
    return purpose.startswith(CHANGE_PAYMENT_PREFIX)


class BookingModification(Base):
    """A confirmed booking moved to another slot and/or party: the new seats are held (and
    paid for, if dearer) before the old ones are given back."""

    __tablename__ = "booking_modification"
    __table_args__ = (
        UniqueConstraint("booking_id", "number"),
        # One modification at a time per booking.
        Index(
            "uq_booking_modification_open",
            "booking_id",
            unique=True,
            postgresql_where=text("status IN ('pending_payment', 'confirming')"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    booking_id: Mapped[UUID]
    # 1, 2, ... per booking; names the payment of the difference (`change-<number>`).
    number: Mapped[int]
    # pending_payment → confirming → applied; or expired (unpaid in time), failed (seats gone).
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[UUID]
    old_slot_id: Mapped[UUID]
    old_hold_id: Mapped[UUID]
    old_party: Mapped[dict[str, int]] = mapped_column(JSONB)
    old_total: Mapped[Decimal] = mapped_column(MoneyAmount())
    new_slot_id: Mapped[UUID]
    new_hold_id: Mapped[UUID] = mapped_column(unique=True)
    new_party: Mapped[dict[str, int]] = mapped_column(JSONB)
    new_seats: Mapped[int]
    new_total: Mapped[Decimal] = mapped_column(MoneyAmount())
    new_quote: Mapped[dict[str, Any]] = mapped_column(JSONB)
    new_starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    new_ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The listing's IANA zone (the booking's), in which the new slot's times are shown.
    timezone: Mapped[str] = mapped_column(String(64))
    # The new total less the old.
    difference: Mapped[Decimal] = mapped_column(MoneyAmount())
    # What the change does to the booking's money (modifications/domain.py): charged now (the
    # PaymentIntent), refunded, and the balance left to pay and when; as planned when asked,
    # as settled once applied.
    charge: Mapped[Decimal] = mapped_column(MoneyAmount())
    refund: Mapped[Decimal] = mapped_column(MoneyAmount())
    balance: Mapped[Decimal] = mapped_column(MoneyAmount())
    balance_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    currency: Mapped[str] = mapped_column(String(3))
    payment_intent_id: Mapped[str | None] = mapped_column(String(100))
    client_secret: Mapped[str | None] = mapped_column(String(300))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def payment_purpose(self) -> str:
        return f"{CHANGE_PAYMENT_PREFIX}{self.number}"
