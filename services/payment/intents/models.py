from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import CheckConstraint, DateTime, Index, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.payment.db import Base
from shared.db import MoneyAmount


class Payment(Base):
    """One Stripe PaymentIntent for one purpose of one booking (full, deposit or balance), or
    for a cart's bookings together. Part of it, or all, may be paid with the traveler's credit
    (`credit_amount`); the intent is for the rest. One paid with credit only has no intent at
    Stripe: its `payment_intent_id` is `credit_<hex>`, a name of ours that never goes there."""

    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("booking_id", "purpose"),
        CheckConstraint("(expert_id IS NULL) = (expert_fee IS NULL) AND expert_fee >= 0", name="expert_fee_has_expert"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    booking_id: Mapped[UUID]
    traveler_id: Mapped[UUID] = mapped_column(index=True)
    provider_id: Mapped[UUID] = mapped_column(index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    payment_intent_id: Mapped[str] = mapped_column(String(100), unique=True)
    client_secret: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(MoneyAmount())
    currency: Mapped[str] = mapped_column(String(3))
    # The listing category paid for; unknown on payments made before fees came from the rules.
    category: Mapped[str | None] = mapped_column(String(20))
    # What the platform keeps of the amount, decided by the fee rules when the intent was made.
    platform_fee: Mapped[Decimal] = mapped_column(MoneyAmount())
    # requires_payment → succeeded | failed | canceled
    status: Mapped[str] = mapped_column(String(20), default="requires_payment")
    # The part of `amount` paid with the traveler's credit: `reserved` when the intent is made,
    # `spent` when it is paid, `released` when it can no longer be (cancelled at Stripe).
    credit_amount: Mapped[Decimal] = mapped_column(MoneyAmount(), default=Decimal(0))
    credit_status: Mapped[str | None] = mapped_column(String(10))
    # Of the refunds made, what went back to the credit rather than to the card.
    credit_refunded: Mapped[Decimal] = mapped_column(MoneyAmount(), default=Decimal(0))
    amount_refunded: Mapped[Decimal] = mapped_column(MoneyAmount(), default=Decimal(0))
    # Refunds decided, made or not yet: what caps the next one, so refunds decided before
    # Stripe has made the first never add up to more than was captured.
    amount_refund_decided: Mapped[Decimal] = mapped_column(MoneyAmount(), default=Decimal(0))
    # A cart's one payment: each booking's share and its fee,
    # [{booking_id, provider_id, category, amount, platform_fee}].
    parts: Mapped[list[dict[str, str]] | None] = mapped_column(JSONB)
    # A destination charge's connected account: the provider's money went there at once. None
    # when the platform holds it until it is paid out (a cart, a provider who cannot take charges).
    destination_account_id: Mapped[str | None] = mapped_column(String(100))
    # The expert who booked for the traveler, and their part of `platform_fee`.
    expert_id: Mapped[UUID | None]
    expert_fee: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    # The W3C trace context of the checkout that made the payment: Stripe's webhook carries
    # none, so its handling continues this trace (webhooks/service.py).
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    @property
    def card_amount(self) -> Decimal:
        """What the card pays: all but the credit part."""
        return self.amount - self.credit_amount

    @property
    def at_stripe(self) -> bool:
        return self.card_amount > 0


class StripeCommand(Base):
    """A call to Stripe decided inside a transaction and made after it (refund, cancel, confirm),
    retried with a growing delay until Stripe accepts it; its idempotency key makes a retry safe."""

    __tablename__ = "stripe_command"
    __table_args__ = (
        Index("ix_stripe_command_pending", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    kind: Mapped[str] = mapped_column(String(20))
    payment_id: Mapped[UUID]
    # A refund's booking: one of a cart's, when the payment was the cart's.
    booking_id: Mapped[UUID | None]
    amount: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    # Empty until a call fails: a new command is due at once.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
