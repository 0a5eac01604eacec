from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.booking.db import Base


class WebhookSubscription(Base):
    """An endpoint a provider (their listings' events) or an admin (every event) is sent
    webhook events to, signed with its secret. `active`, `disabled` after failing for too long
    (a redelivery resumes it), or `deleted` by its owner."""

    __tablename__ = "webhook_subscription"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    owner_id: Mapped[UUID] = mapped_column(index=True)
    owner_is_admin: Mapped[bool]
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    description: Mapped[str | None] = mapped_column(String(500))
    # The HMAC key of its signatures: shown once, at creation, and kept (encrypted, see
    # sealing.py) to sign with.
    sealed_secret: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(20))
    # Deliveries that failed in a row, and since when none succeeded: what disables it.
    failed_deliveries: Mapped[int] = mapped_column(default=0)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One event to send to one subscription: `pending` until a 2xx answers it (`delivered`)
    or its retry window ends (`failed`). Sent in `sequence` order per subscription and
    `ordering_key` (the event's aggregate, e.g. its booking)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        # The delivery job looks for pending deliveries by when they are due.
        Index(
            "ix_webhook_delivery_pending_next_attempt_at",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_delivery_subscription_id_ordering_key", "subscription_id", "ordering_key", "sequence"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    sequence: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    subscription_id: Mapped[UUID] = mapped_column(ForeignKey("webhook_subscription.id", ondelete="CASCADE"))
    event_id: Mapped[UUID]
    kind: Mapped[str] = mapped_column(String(40))
    ordering_key: Mapped[str] = mapped_column(String(200))
    # The webhook body as sent, the same bytes on every try.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(default=0)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Where its retry window starts: its first try, or its owner's redelivery.
    retry_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
