from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import CheckConstraint, DateTime, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from services.payment.db import Base
from shared.db import MoneyAmount


class PayoutPolicy(Base):
    """When a booking's money is paid out, by the recipient's tier: `anchor` plus `delay_hours`
    (seeded: new → the service's end plus 24 h, verified → at confirmation)."""

    __tablename__ = "payout_policy"
    __table_args__ = (
        CheckConstraint("tier IN ('new', 'verified')", name="tier_known"),
        CheckConstraint("anchor IN ('confirmation', 'service_end')", name="anchor_known"),
        CheckConstraint("delay_hours >= 0", name="delay_not_negative"),
    )

    tier: Mapped[str] = mapped_column(String(10), primary_key=True)
    anchor: Mapped[str] = mapped_column(String(20))
    delay_hours: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class PayoutSchedule(Base):
    """A confirmed booking's money owed to one recipient (its provider, or the expert who booked
    it) and the times the policy counts from. `open` while something may be left to pay out or
    settle: a capture or a refund of the booking opens it again."""

    __tablename__ = "payout_schedule"
    __table_args__ = (
        CheckConstraint("recipient_role IN ('provider', 'expert')", name="recipient_role_known"),
        Index("ix_payout_schedule_open", "recipient_id", postgresql_where=text("open")),
    )

    booking_id: Mapped[UUID] = mapped_column(primary_key=True)
    recipient_id: Mapped[UUID] = mapped_column(primary_key=True)
    recipient_role: Mapped[str] = mapped_column(String(10))
    currency: Mapped[str] = mapped_column(String(3))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    service_ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    open: Mapped[bool] = mapped_column(default=True)


class Payout(Base):
    """Money paid from a recipient's connected account to their bank for one booking (the n-th
    time: more can be owed later, e.g. a balance paid after the first payout).

    `gross` is what the booking still owed them; `netted` is what they owed back on other
    bookings (refunds after those were paid out), taken off; `amount` is what left. A booking's
    debt settled that way is a row too: its `gross` negative, all of it `netted` (into
    `netted_into_id`), nothing paid."""

    __tablename__ = "payout"
    __table_args__ = (
        UniqueConstraint("booking_id", "recipient_id", "sequence"),
        CheckConstraint("status IN ('pending', 'paid', 'netted', 'failed')", name="status_known"),
        CheckConstraint("amount >= 0 AND amount = gross - netted", name="adds_up"),
        Index("ix_payout_pending", "recipient_id", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    booking_id: Mapped[UUID]
    recipient_id: Mapped[UUID] = mapped_column(index=True)
    recipient_role: Mapped[str] = mapped_column(String(10))
    sequence: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    gross: Mapped[Decimal] = mapped_column(MoneyAmount())
    netted: Mapped[Decimal] = mapped_column(MoneyAmount())
    amount: Mapped[Decimal] = mapped_column(MoneyAmount())
    netted_into_id: Mapped[UUID | None]
    stripe_account_id: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # pending (decided, Stripe not yet done) → paid → failed (the bank refused it, and the money
    # is back on the connected account: ops act); netted: nothing to send.
    status: Mapped[str] = mapped_column(String(10))
    stripe_payout_id: Mapped[str | None] = mapped_column(String(100), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Stripe's word that the bank did not take it.
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failure_code: Mapped[str | None] = mapped_column(String(100))
    failure_message: Mapped[str | None] = mapped_column(String(1000))


class PayoutTransfer(Base):
    """Money the platform held for a booking, moved to the recipient's connected account before
    it is paid out (positive), or taken back from it when a refund came after (negative: a
    reversal of the booking's transfer `reverses_id`)."""

    __tablename__ = "payout_transfer"
    __table_args__ = (
        UniqueConstraint("booking_id", "recipient_id", "sequence"),
        CheckConstraint("status IN ('pending', 'done')", name="status_known"),
        CheckConstraint("amount <> 0", name="moves_money"),
        Index("ix_payout_transfer_pending", "recipient_id", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    booking_id: Mapped[UUID]
    recipient_id: Mapped[UUID]
    sequence: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(MoneyAmount())
    stripe_account_id: Mapped[str] = mapped_column(String(100))
    transfer_group: Mapped[str] = mapped_column(String(100))
    reverses_id: Mapped[UUID | None]
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    stripe_transfer_id: Mapped[str | None] = mapped_column(String(100))
    stripe_reversal_id: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
