"""Reminders scheduled by booking events and sent when due.

Scheduling happens in the transaction of the event's inbox row: the confirmation writes the
booking's pending reminder (unique per booking and kind, so a redelivered event writes nothing
more), its cancellation settles it as cancelled. A cancellation read before the confirmation
(events of one booking can arrive out of order after a replay) writes the reminder as
cancelled at once, and the confirmation then finds it there and schedules nothing. A change
of the booking (another slot or party) moves its pending reminder to the new start, or cancels
it when the new start is less than 24 h after the change.

Sending, by any number of replicas on the injectable clock: in one transaction, lock due
pending reminders (`FOR UPDATE SKIP LOCKED`, so two replicas never take the same one), record
each one's notification (`record_notification`, keyed by the reminder's id, so it is told
once) and mark it sent. The notification then goes out through the delivery worker and its
channels like any other.
"""

from datetime import datetime
from uuid import uuid4

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notification.email.templates import booking_reminder
from services.notification.notifications.domain import NotificationDraft, NotificationKind, Recipient, storable
from services.notification.notifications.service import record_notification
from services.notification.reminders.domain import REMINDER_LEAD, ReminderKind, reminder_due_at
from services.notification.reminders.models import ScheduledReminder
from services.notification.settings import NotificationSettings
from shared.contracts.booking import BookingCancelled, BookingConfirmed, BookingModified


async def schedule_traveler_reminder(session: AsyncSession, booking: BookingConfirmed, *, now: datetime) -> None:
    """Schedule the reminder of a confirmed booking, unless it has one (or was cancelled) already."""
    due_at = reminder_due_at(starts_at=booking.starts_at, confirmed_at=booking.confirmed_at)
    if due_at is None:
        return
    await session.execute(
        insert(ScheduledReminder)
        .values(
            id=uuid4(),
            booking_id=booking.booking_id,
            kind=ReminderKind.TRAVELER_BEFORE_START.value,
            traveler_id=booking.traveler_id,
            due_at=due_at,
            # PostgreSQL's JSONB cannot hold a NUL, which a listing's title may have.
            facts=storable(booking.model_dump(mode="json")),
            status="pending",
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["booking_id", "kind"])
    )


async def cancel_traveler_reminder(session: AsyncSession, booking: BookingCancelled, *, now: datetime) -> None:
    """Settle the booking's pending reminder as cancelled; with none yet, leave a cancelled one
    in its place so a confirmation read later schedules nothing."""
    statement = insert(ScheduledReminder).values(
        id=uuid4(),
        booking_id=booking.booking_id,
        kind=ReminderKind.TRAVELER_BEFORE_START.value,
        traveler_id=booking.traveler_id,
        due_at=booking.starts_at - REMINDER_LEAD,
        facts=None,
        status="cancelled",
        created_at=now,
        settled_at=now,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["booking_id", "kind"],
            set_={"status": "cancelled", "settled_at": now},
            where=ScheduledReminder.status == "pending",
        )
    )


async def move_traveler_reminder(session: AsyncSession, booking: BookingModified, *, now: datetime) -> None:
    """Move the booking's pending reminder to its new start, with what the change made of it."""
    reminder = await session.scalar(
        select(ScheduledReminder)
        .where(
            ScheduledReminder.booking_id == booking.booking_id,
            ScheduledReminder.kind == ReminderKind.TRAVELER_BEFORE_START.value,
            ScheduledReminder.status == "pending",
        )
        .with_for_update()
    )
    if reminder is None or reminder.facts is None:
        return
    due_at = reminder_due_at(starts_at=booking.starts_at, confirmed_at=booking.modified_at)
    if due_at is None:
        reminder.status = "cancelled"
        reminder.settled_at = now
        return
    changed = booking.model_dump(mode="json", include=_CHANGED_FACTS)
    reminder.due_at = due_at
    reminder.facts = storable({**reminder.facts, **changed})


# What a change of a booking tells of it that its reminder says.
_CHANGED_FACTS = {
    "reference",
    "listing_title",
    "slot_id",
    "starts_at",
    "ends_at",
    "timezone",
    "seats",
    "contact_name",
    "contact_email",
}


async def send_due_reminders(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    settings: NotificationSettings,
    redis: Redis,
    limit: int,
) -> int:
    """Record the notification of up to `limit` due reminders; how many were taken (sent or
    found missed)."""
    async with session_factory() as session, session.begin():
        reminders = (
            await session.scalars(
                select(ScheduledReminder)
                .where(ScheduledReminder.status == "pending", ScheduledReminder.due_at <= now)
                .order_by(ScheduledReminder.due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for reminder in reminders:
            booking = BookingConfirmed.model_validate(reminder.facts)
            reminder.settled_at = now
            if booking.starts_at <= now:
                # No worker ran between the due time and the start: a reminder now would be late.
                reminder.status = "missed"
                continue
            await record_notification(
                session,
                source_event_id=reminder.id,
                draft=_traveler_reminder(booking, sender=settings.mail_from),
                now=now,
                addressing=settings.addressing(),
                redis=redis,
            )
            reminder.status = "sent"
        return len(reminders)


def _traveler_reminder(booking: BookingConfirmed, *, sender: str) -> NotificationDraft:
    message = booking_reminder(booking, sender=sender)
    return NotificationDraft(
        kind=NotificationKind.BOOKING_REMINDER,
        # The address as the message's one-line To header has it: never the raw text of an event.
        recipient=Recipient(email=str(message["To"]), user_id=booking.traveler_id, timezone=booking.timezone),
        subject_type="booking",
        subject_id=booking.booking_id,
        title=str(message["Subject"]),
        email=message,
        facts=booking.model_dump(mode="json"),
    )
