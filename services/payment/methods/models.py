from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from services.payment.db import Base


class PaymentCustomer(Base):
    """A traveler's Stripe Customer, made the first time they save a card."""

    __tablename__ = "payment_customer"

    traveler_id: Mapped[UUID] = mapped_column(primary_key=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SavedPaymentMethod(Base):
    """A card a traveler saved (attached to their Customer); the default one is what is charged
    when someone books for them."""

    __tablename__ = "saved_payment_method"
    __table_args__ = (
        Index("uq_saved_payment_method_traveler_id", "traveler_id", unique=True, postgresql_where=text("is_default")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    traveler_id: Mapped[UUID] = mapped_column(index=True)
    stripe_payment_method_id: Mapped[str] = mapped_column(String(100), unique=True)
    brand: Mapped[str] = mapped_column(String(20))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int]
    exp_year: Mapped[int]
    is_default: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
