from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import DateTime, ForeignKey, Index, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.notification.db import Base


class Notification(Base):
    """One thing one person is told, caused by one event: the same event never tells the same
    person the same thing twice (the unique source event, kind and recipient)."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("source_event_id", "kind", "recipient_key"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    kind: Mapped[str] = mapped_column(String(60))
    source_event_id: Mapped[UUID]
    # The account's id when known, else the lower-cased address (see `Recipient.key`).
    recipient_key: Mapped[str] = mapped_column(String(320))
    recipient_user_id: Mapped[UUID | None] = mapped_column(index=True)
    recipient_email: Mapped[str] = mapped_column(String(320))
    recipient_phone: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(35))
    # The listing's IANA timezone, for the dates of what the notification is about.
    timezone: Mapped[str | None] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[UUID | None]
    title: Mapped[str] = mapped_column(String(300))
    # The facts of the event as it was read, for channels that render later (in-app).
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    deliveries: Mapped[list["Delivery"]] = relationship(back_populates="notification")


class Delivery(Base):
    """A notification on one channel: its state, its attempts and when the next one is due."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel"),
        # What the delivery worker polls: the claimable deliveries by when they are due.
        Index(
            "ix_notification_delivery_due",
            "next_attempt_at",
            postgresql_where=text("state IN ('pending', 'failed_retrying', 'sending')"),
        ),
        # What a provider's status callback looks a delivery up by.
        Index(
            "ix_notification_delivery_provider_message_id",
            "provider_message_id",
            postgresql_where=text("provider_message_id IS NOT NULL"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    notification_id: Mapped[UUID] = mapped_column(ForeignKey("notification.id"))
    channel: Mapped[str] = mapped_column(String(20))
    # The address on this channel (an email address, a phone number, the user id in-app).
    address: Mapped[str] = mapped_column(String(320))
    # What goes out, as the channel sends it (for email the whole message, Message-ID set).
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # Stable across attempts, so the far end can drop a repeat (for email the Message-ID).
    idempotency_key: Mapped[str] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(default=0)
    # When the delivery (last) entered the queue: retries go on for the max age from here.
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When the next attempt is due; for a `sending` delivery, when its worker's lease ends.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set at each claim: only the worker holding the current lease records the outcome.
    lease_token: Mapped[UUID | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    provider_message_id: Mapped[str | None] = mapped_column(String(320))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    notification: Mapped[Notification] = relationship(back_populates="deliveries")


class AwaitedAccount(Base):
    """A notice for an account the directory has not heard of yet, kept with its event until
    the account's announcement arrives: the two travel on different topics, read independently,
    so an account made a moment before the event that concerns it may still be on its way."""

    __tablename__ = "awaited_account"
    __table_args__ = (UniqueConstraint("source_event_id", "kind", "user_id"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    user_id: Mapped[UUID] = mapped_column(index=True)
    source_event_id: Mapped[UUID]
    kind: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(100))
    event_version: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    awaited_since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
