from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.booking.db import Base
from shared.db import MoneyAmount


class Cart(Base):
    """What a traveler is putting together: instant, request, external and expert items.
    Checkout turns each item into what its kind becomes, once."""

    __tablename__ = "cart"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    traveler_id: Mapped[UUID] = mapped_column(index=True)
    # open → checking_out → checked_out
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When the running checkout began: one left by a crashed process may be taken over later.
    checkout_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The one payment of the instant items (its id is what payment knows the checkout by).
    amount_due_now: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    platform_fee: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    currency: Mapped[str | None] = mapped_column(String(3))
    payment_intent_id: Mapped[str | None] = mapped_column(String(100))
    client_secret: Mapped[str | None] = mapped_column(String(300))


class CartItem(Base):
    __tablename__ = "cart_item"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    cart_id: Mapped[UUID] = mapped_column(ForeignKey("cart.id", ondelete="CASCADE"), index=True)
    # instant | request | external | expert
    kind: Mapped[str] = mapped_column(String(20))
    # What the traveler asked for, as sent (slot and party, message, partner, expert and brief).
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What checkout made of it: a booking, a request, links or a handoff; or why it could not.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
