from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from services.analytics.db import Base


class ListingDimension(Base):
    """A listing as the reports name it: its provider, and its title and category as its latest
    confirmed booking (booking.confirmed, at `confirmed_at`) told them."""

    __tablename__ = "listing_dimension"

    listing_id: Mapped[UUID] = mapped_column(primary_key=True)
    provider_id: Mapped[UUID] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(20))
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
