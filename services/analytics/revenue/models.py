from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import BigInteger, Date, DateTime, Identity, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.analytics.db import Base
from shared.db import MoneyAmount


class BookingFact(Base):
    """A confirmed booking as booking's events tell it: whose, of which listing, and its status."""

    __tablename__ = "booking_fact"

    booking_id: Mapped[UUID] = mapped_column(primary_key=True)
    provider_id: Mapped[UUID] = mapped_column(index=True)
    listing_id: Mapped[UUID] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[str] = mapped_column(String(20))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class _Sums:
    """The money columns of a movement and of a day's rollup (see domain.Amounts)."""

    gmv: Mapped[Decimal] = mapped_column(MoneyAmount(18), server_default=text("0"))
    platform_fees: Mapped[Decimal] = mapped_column(MoneyAmount(18), server_default=text("0"))
    refunds: Mapped[Decimal] = mapped_column(MoneyAmount(18), server_default=text("0"))
    credits: Mapped[Decimal] = mapped_column(MoneyAmount(18), server_default=text("0"))
    credits_spent: Mapped[Decimal] = mapped_column(MoneyAmount(18), server_default=text("0"))
    payouts: Mapped[Decimal] = mapped_column(MoneyAmount(18), server_default=text("0"))
    expert_fees: Mapped[Decimal] = mapped_column(MoneyAmount(18), server_default=text("0"))
    expert_payouts: Mapped[Decimal] = mapped_column(MoneyAmount(18), server_default=text("0"))


class MoneyMovement(_Sums, Base):
    """What one ledger transaction means to revenue, for one provider (or for the booking's
    provider: `provider_id` null). Kept whether or not the booking is known yet, so that its
    confirmation, or a change of listing, can count it where it belongs."""

    __tablename__ = "money_movement"
    __table_args__ = (
        Index(
            "uq_money_movement_transaction_provider",
            "transaction_id",
            "provider_id",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    transaction_id: Mapped[UUID]
    kind: Mapped[str] = mapped_column(String(40))
    booking_id: Mapped[UUID] = mapped_column(index=True)
    provider_id: Mapped[UUID | None]
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RevenueDay(_Sums, Base):
    """A UTC day's revenue of a provider's listing in a currency: money by the day it moved,
    bookings by the day they were confirmed. Null provider, listing or category: not known (yet)."""

    __tablename__ = "revenue_day"
    __table_args__ = (
        Index(
            "uq_revenue_day_key",
            "day",
            "provider_id",
            "listing_id",
            "category",
            "currency",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_revenue_day_provider_id_day", "provider_id", "day"),
        Index("ix_revenue_day_listing_id_day", "listing_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    provider_id: Mapped[UUID | None]
    listing_id: Mapped[UUID | None]
    category: Mapped[str | None] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    bookings: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class RevenueProviderDay(_Sums, Base):
    """`revenue_day` summed over listings: a UTC day's revenue of a provider in a category and a
    currency, kept by the same handlers in the same transactions. Every report grouping (day,
    week, month, category, provider, currency) reads it: a platform's year is a fifth of the
    rows of the listings' rollup. Null provider or category: not known (yet)."""

    __tablename__ = "revenue_provider_day"
    __table_args__ = (
        Index(
            "uq_revenue_provider_day_key",
            "day",
            "provider_id",
            "category",
            "currency",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_revenue_provider_day_provider_id_day", "provider_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    provider_id: Mapped[UUID | None]
    category: Mapped[str | None] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    bookings: Mapped[int] = mapped_column(Integer, server_default=text("0"))
