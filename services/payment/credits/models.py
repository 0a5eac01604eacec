from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.payment.db import Base


class CreditBalance(Base):
    """A traveler's credit in one currency: what they may spend now, and what checkouts waiting
    for their card hold of it. Its row lock orders every reservation of the traveler's credit,
    so two checkouts never spend the same credit. Together the two are what the ledger's
    `traveler_credit:<id>` account owes the traveler in the currency."""

    __tablename__ = "credit_balance"
    __table_args__ = (CheckConstraint("reserved >= 0", name="reserved_not_negative"),)

    traveler_id: Mapped[UUID] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    available: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    reserved: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CreditEntry(Base):
    """One line of a traveler's credit history: `granted` (a provider cancelled), `reserved` for
    a checkout, `spent` once it is paid, `released` when the checkout was not, and `refunded` when
    a booking paid with credit is refunded. Numbered in the order they happened."""

    __tablename__ = "credit_entry"
    __table_args__ = (
        CheckConstraint("kind IN ('granted', 'reserved', 'spent', 'released', 'refunded')", name="kind_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_credit_entry_traveler_id_id", "traveler_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    traveler_id: Mapped[UUID]
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    booking_id: Mapped[UUID | None]
    payment_id: Mapped[UUID | None]
    reason: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
