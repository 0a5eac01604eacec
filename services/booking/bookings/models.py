from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.booking.db import Base
from shared.db import MoneyAmount


class Booking(Base):
    __tablename__ = "booking"
    # The completion job looks for confirmed bookings whose slot has ended.
    __table_args__ = (
        Index("ix_booking_confirmed_ends_at", "ends_at", postgresql_where=text("status = 'confirmed'")),
        # The balance job looks for deposit bookings whose next balance charge is due.
        Index(
            "ix_booking_balance_next_attempt_at",
            "balance_next_attempt_at",
            postgresql_where=text("balance_paid_at IS NULL AND balance_next_attempt_at IS NOT NULL"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    traveler_id: Mapped[UUID] = mapped_column(index=True)
    provider_id: Mapped[UUID] = mapped_column(index=True)
    listing_id: Mapped[UUID]
    slot_id: Mapped[UUID]
    # One booking per hold: a retried request finds the booking it already made.
    hold_id: Mapped[UUID] = mapped_column(unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending_payment")
    status_reason: Mapped[str | None] = mapped_column(String(200))
    adults: Mapped[int]
    children: Mapped[int]
    infants: Mapped[int]
    seats: Mapped[int]
    total: Mapped[Decimal] = mapped_column(MoneyAmount())
    amount_due_now: Mapped[Decimal] = mapped_column(MoneyAmount())
    platform_fee: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    currency: Mapped[str] = mapped_column(String(3))
    payment_option: Mapped[str] = mapped_column(String(20))
    payment_intent_id: Mapped[str | None] = mapped_column(String(100))
    client_secret: Mapped[str | None] = mapped_column(String(300))
    quote: Mapped[dict[str, Any]] = mapped_column(JSONB)
    contact: Mapped[dict[str, Any]] = mapped_column(JSONB)
    special_requests: Mapped[str | None] = mapped_column(Text)
    listing_title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    timezone: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When payment received the payment (its event's time, on payment's clock), to time how
    # long the booking then took to confirm.
    payment_received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A deposit booking's rest: charged off-session on the saved card from its due date, each
    # failed attempt retried later until the last, unless the traveler pays it first.
    balance_amount: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    balance_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    balance_next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    balance_attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    balance_paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The listing's cancellation policy when the booking was made: the terms the traveler agreed to.
    cancellation_policy: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    cancelled_by: Mapped[str | None] = mapped_column(String(20))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refund_amount: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    credit_amount: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    # What of `amount_due_now` the traveler's own credit pays (payment holds it until the card
    # pays the rest); the card pays the rest.
    credit_used: Mapped[Decimal] = mapped_column(MoneyAmount(), default=Decimal(0), server_default=text("0"))
    # The expert who booked it for the traveler (see experts/), if one did.
    booked_by_expert_id: Mapped[UUID | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    @property
    def amount_paid(self) -> Decimal:
        """What the traveler has paid: the payment made at booking (and changes'), and the balance."""
        paid = self.amount_due_now if self.paid_at is not None else Decimal(0)
        if self.balance_paid_at is not None and self.balance_amount is not None:
            paid += self.balance_amount
        return paid


class BookingRefund(Base):
    """A refund payment reported made for a booking, kept once by payment's name for it, so the
    traveler is told of each refund once however often payment's event arrives."""

    __tablename__ = "booking_refund"

    booking_id: Mapped[UUID] = mapped_column(primary_key=True)
    refund_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(MoneyAmount())
    currency: Mapped[str] = mapped_column(String(3))
    refunded_to: Mapped[str | None] = mapped_column(String(10))
    refunded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
