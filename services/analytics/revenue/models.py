from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, Identity, String
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
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class RefundReceived(Base):
    """One refund of a booking. Kept apart from the booking's row because payment's topic and
    booking's are read independently: a refund may arrive before the confirmation it refunds."""

    __tablename__ = "refund_received"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    booking_id: Mapped[UUID] = mapped_column(index=True)
    amount: Mapped[Decimal] = mapped_column(MoneyAmount(15))
    currency: Mapped[str] = mapped_column(String(3))
