from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.booking.db import Base
from shared.db import MoneyAmount


class BookingRequest(Base):
    """A traveler's request to book a slot of a listing booked on request, and the answers to
    it (see domain.py for how it moves). Accepted, it points at the booking the traveler pays."""

    __tablename__ = "booking_request"
    # The deadline job looks for open requests by their deadline.
    __table_args__ = (
        Index(
            "ix_booking_request_open_expires_at",
            "expires_at",
            postgresql_where=text("status IN ('pending_provider', 'countered')"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    traveler_id: Mapped[UUID] = mapped_column(index=True)
    # The traveler's account email: payment and inventory are asked on their behalf with it.
    traveler_email: Mapped[str] = mapped_column(String(320))
    provider_id: Mapped[UUID] = mapped_column(index=True)
    provider_email: Mapped[str | None] = mapped_column(String(320))
    listing_id: Mapped[UUID]
    listing_title: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    slot_id: Mapped[UUID]
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    adults: Mapped[int]
    children: Mapped[int]
    infants: Mapped[int]
    seats: Mapped[int]
    message: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # What inventory said the party would pay when the request was made: a quote, or the
    # estimated range of a listing priced case by case.
    price_estimate: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), default="pending_provider")
    status_reason: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Until when the side whose turn it is may answer: the provider, then (countered) the traveler.
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reminder_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_warning_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the provider answered (accepted, declined or countered).
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Declined: the other open slots of the listing the traveler was offered instead.
    alternatives: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    counter_slot_id: Mapped[UUID | None]
    counter_starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    counter_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The countered total for the party; none when the counter-offer keeps the listed price.
    counter_price: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    counter_message: Mapped[str | None] = mapped_column(Text)
    booking_id: Mapped[UUID | None] = mapped_column(unique=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
