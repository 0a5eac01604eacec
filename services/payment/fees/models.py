from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import CheckConstraint, DateTime, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.payment.db import Base
from shared.db import MoneyAmount


class FeeRule(Base):
    """A platform fee rule an admin keeps (see fees/domain.py for how one is chosen)."""

    __tablename__ = "fee_rule"
    __table_args__ = (
        CheckConstraint("scope IN ('global', 'category', 'provider')", name="scope_known"),
        CheckConstraint(
            "(scope = 'global' AND category IS NULL AND provider_id IS NULL)"
            " OR (scope = 'category' AND category IS NOT NULL AND provider_id IS NULL)"
            " OR (scope = 'provider' AND provider_id IS NOT NULL AND category IS NULL)",
            name="target_fits_scope",
        ),
        CheckConstraint("(percentage IS NULL) <> (fixed_amount IS NULL)", name="percentage_or_fixed_amount"),
        CheckConstraint("percentage >= 0 AND percentage <= 100", name="percentage_in_range"),
        CheckConstraint(
            "fixed_amount >= 0 AND min_fee >= 0 AND max_fee >= 0 AND min_fee <= max_fee", name="amounts_in_order"
        ),
        CheckConstraint(
            "(currency IS NULL) = (fixed_amount IS NULL AND min_fee IS NULL AND max_fee IS NULL)",
            name="money_has_currency",
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    scope: Mapped[str] = mapped_column(String(10))
    category: Mapped[str | None] = mapped_column(String(20))
    provider_id: Mapped[UUID | None] = mapped_column(index=True)
    percentage: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    fixed_amount: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    min_fee: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    max_fee: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    currency: Mapped[str | None] = mapped_column(String(3))
    priority: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # The admin who last created or changed it; none for the seeded defaults.
    updated_by: Mapped[UUID | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
