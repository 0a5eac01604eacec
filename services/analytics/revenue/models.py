from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from services.analytics.db import Base
from shared.db import MoneyAmount


class BookingRevenue(Base):
    """The money of one confirmed booking, as the events told it."""

    __tablename__ = "booking_revenue"

    booking_id: Mapped[UUID] = mapped_column(primary_key=True)
    provider_id: Mapped[UUID] = mapped_column(index=True)
    listing_id: Mapped[UUID]
    category: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    gmv: Mapped[Decimal] = mapped_column(MoneyAmount(15))
    platform_fee: Mapped[Decimal] = mapped_column(MoneyAmount(15))
    refunded: Mapped[Decimal] = mapped_column(MoneyAmount(15), default=Decimal(0))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
