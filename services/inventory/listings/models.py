from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import DateTime, String, Text, func, text, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.inventory.db import Base
from services.inventory.listings.domain import DEFAULT_MAX_PARTY_SIZE
from shared.db import MoneyAmount


class Listing(Base):
    """Something a provider sells: a tour, a stay, a transfer, a meal."""

    __tablename__ = "listing"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    provider_id: Mapped[UUID] = mapped_column(index=True)
    # Where booking requests and their reminders reach the provider; listings made before it
    # was recorded have none.
    provider_email: Mapped[str | None] = mapped_column(String(320))
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20), index=True)
    description: Mapped[str] = mapped_column(Text)
    city: Mapped[str] = mapped_column(String(100), index=True)
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    booking_mode: Mapped[str] = mapped_column(String(20))
    availability_mode: Mapped[str] = mapped_column(String(20))
    base_price: Mapped[Decimal] = mapped_column(MoneyAmount())
    pricing: Mapped[dict[str, Any]] = mapped_column(JSONB)
    cancellation_policy: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    hold_ttl_seconds: Mapped[int]
    # `toggle` listings are switched on and off as a whole; `calendar` ones open by `open_days`.
    on_sale: Mapped[bool] = mapped_column(default=True, server_default=true())
    open_days: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # `inventory` listings count seats per slot, or per day across all of a date's slots.
    capacity_per: Mapped[str] = mapped_column(String(10), default="slot", server_default="slot")
    day_capacity: Mapped[int | None]
    # Fair use: the largest party one hold, booking, request or waitlist entry may be for.
    max_party_size: Mapped[int] = mapped_column(
        default=DEFAULT_MAX_PARTY_SIZE, server_default=str(DEFAULT_MAX_PARTY_SIZE)
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
