"""The traveler's reminder 24 h before the start, on a frozen clock moved forward: scheduled by
the confirmation, sent once when due (by the job run again, or by two replicas at once) through
the delivery worker, with the start in the listing's local time; moved by a change of the
booking; never for a booking cancelled before it was due, whichever of the two events is read
first, nor late, after the start."""

import asyncio
import email
import uuid
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notification.reminders.domain import REMINDER_LEAD
from services.notification.reminders.models import ScheduledReminder
from services.notification.reminders.service import send_due_reminders
from services.notification.tests.conftest import NotificationApp, SmtpSink, booking_confirmed
from shared.contracts.booking import BookingCancelled, BookingConfirmed, BookingModified
from shared.db import create_engine, create_session_factory
from shared.events.envelope import EventEnvelope


async def _remind(app: NotificationApp, sessions: async_sessionmaker[AsyncSession] | None = None) -> int:
    """One round of the reminder job (of another replica when given its sessions)."""
    return await send_due_reminders(
        sessions or app.sessions, now=app.clock.now(), settings=app.settings, redis=app.redis, limit=5
    )


def _starts_at(confirmed: EventEnvelope) -> datetime:
    return BookingConfirmed.model_validate(confirmed.payload).starts_at


def _cancellation(confirmed: EventEnvelope) -> EventEnvelope:
    booking = BookingConfirmed.model_validate(confirmed.payload)
    cancelled = BookingCancelled(
        **booking.model_dump(
            include={
                "booking_id",
                "reference",
                "traveler_id",
                "provider_id",
                "listing_id",
                "listing_title",
                "slot_id",
                "starts_at",
                "ends_at",
                "timezone",
                "seats",
                "contact_name",
                "contact_email",
                "currency",
            }
        ),
        cancelled_by="traveler",
        reason="Plans changed",
        was_confirmed=True,
        was_paid=True,
        refund=booking.total,
        credit=0,
        cancelled_at=booking.confirmed_at + timedelta(days=1),
    )
    return EventEnvelope.wrap(cancelled, producer="booking", key=str(booking.booking_id))


def _change(confirmed: EventEnvelope, *, later_by: timedelta) -> EventEnvelope:
    booking = BookingConfirmed.model_validate(confirmed.payload)
    modified = BookingModified(
        **booking.model_dump(
            include={
                "booking_id",
                "reference",
                "traveler_id",
                "provider_id",
                "listing_id",
                "listing_title",
                "timezone",
                "seats",
                "total",
                "currency",
                "contact_name",
                "contact_email",
            }
        ),
        modification_id=uuid.uuid4(),
        old_slot_id=booking.slot_id,
        slot_id=uuid.uuid4(),
        starts_at=booking.starts_at + later_by,
        ends_at=booking.ends_at + later_by,
        difference=0,
        modified_at=booking.confirmed_at + timedelta(days=1),
        calendar_sequence=1,
    )
    return EventEnvelope.wrap(modified, producer="booking", key=str(booking.booking_id))


def _reminder_emails(smtp_sink: SmtpSink) -> list[EmailMessage]:
    return [
        email.message_from_string(message["raw"], _class=EmailMessage, policy=policy.default)
        for message in smtp_sink.store.messages
        if message["subject"].startswith("Reminder:")
    ]


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def test_a_confirmed_booking_reminds_its_traveler_once_24_hours_before_the_start(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    confirmed = booking_confirmed()
    await notification_app.consume(confirmed)
    due_at = _starts_at(confirmed) - REMINDER_LEAD

    notification_app.clock.advance(due_at - notification_app.clock.now() - timedelta(microseconds=1))
    assert await _remind(notification_app) == 0
    await notification_app.deliver()
    assert _reminder_emails(smtp_sink) == []

    notification_app.clock.advance(timedelta(microseconds=1))
    assert await _remind(notification_app) == 1
    assert await notification_app.deliver() == 1
    [reminder] = _reminder_emails(smtp_sink)
    assert reminder["To"] == "ana@example.com"
    assert confirmed.payload["reference"] in reminder["Subject"]

    # Run again, later, and with the confirmation read again: nothing more.
    assert await _remind(notification_app) == 0
    await notification_app.consume(confirmed)
    notification_app.clock.advance(timedelta(hours=12))
    assert await _remind(notification_app) == 0
    await notification_app.deliver()
    assert len(_reminder_emails(smtp_sink)) == 1
    kinds = sorted(notification.kind for notification in await notification_app.notifications())
    assert kinds == ["booking_confirmed", "booking_reminder"]


async def test_the_reminder_shows_the_start_in_the_listings_local_time_and_zone(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    confirmed = booking_confirmed(title="Sunset kayak tour")  # 09:00 UTC on 10 May 2031, in Lisbon
    await notification_app.consume(confirmed)
    notification_app.clock.advance(_starts_at(confirmed) - REMINDER_LEAD - notification_app.clock.now())
    await _remind(notification_app)
    await notification_app.deliver()

    [reminder] = _reminder_emails(smtp_sink)
    body = _text(reminder)
    # Lisbon is on summer time (UTC+1) in May.
    assert "Saturday, May 10, 2031, 10:00\u202fAM (Western European Summer Time)" in body
    assert "Sunset kayak tour" in body
    assert "starts tomorrow" in body


async def test_two_replicas_of_the_job_send_each_reminder_once(
    notification_app: NotificationApp, smtp_sink: SmtpSink, database_url: str
) -> None:
    events = [booking_confirmed(email=f"traveler-{number}@example.com") for number in range(12)]
    await notification_app.consume(*events)
    notification_app.clock.advance(_starts_at(events[0]) - REMINDER_LEAD - notification_app.clock.now())
    other_engine = create_engine(database_url=database_url, schema="notification")
    other_replica = create_session_factory(other_engine)

    async def drain(sessions: async_sessionmaker[AsyncSession]) -> int:
        taken = 0
        while batch := await _remind(notification_app, sessions):
            taken += batch
        return taken

    try:
        by_a, by_b = await asyncio.gather(drain(notification_app.sessions), drain(other_replica))
    finally:
        await other_engine.dispose()

    assert by_a + by_b == 12
    while await notification_app.deliver():
        pass
    reminders = _reminder_emails(smtp_sink)
    assert sorted(str(reminder["To"]) for reminder in reminders) == sorted(
        f"traveler-{number}@example.com" for number in range(12)
    )
    async with notification_app.sessions() as session:
        statuses = (await session.scalars(select(ScheduledReminder.status))).all()
    assert statuses == ["sent"] * 12


async def test_a_booking_cancelled_before_its_reminder_is_due_gets_none(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    confirmed = booking_confirmed()
    await notification_app.consume(confirmed, _cancellation(confirmed))
    notification_app.clock.advance(_starts_at(confirmed) - REMINDER_LEAD - notification_app.clock.now())

    assert await _remind(notification_app) == 0
    await notification_app.deliver()
    assert _reminder_emails(smtp_sink) == []
    assert "booking_reminder" not in {notification.kind for notification in await notification_app.notifications()}


async def test_a_cancellation_read_before_the_confirmation_leaves_no_reminder(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    confirmed = booking_confirmed()
    await notification_app.consume(_cancellation(confirmed), confirmed)
    notification_app.clock.advance(_starts_at(confirmed) - REMINDER_LEAD - notification_app.clock.now())

    assert await _remind(notification_app) == 0
    await notification_app.deliver()
    assert _reminder_emails(smtp_sink) == []
    async with notification_app.sessions() as session:
        [reminder] = (await session.scalars(select(ScheduledReminder))).all()
    assert reminder.status == "cancelled"


async def test_a_booking_confirmed_less_than_24_hours_before_its_start_gets_no_reminder(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    booking = BookingConfirmed.model_validate(booking_confirmed().payload)
    late = booking.model_copy(update={"confirmed_at": booking.starts_at - timedelta(hours=23)})
    await notification_app.consume(EventEnvelope.wrap(late, producer="booking", key=str(late.booking_id)))
    notification_app.clock.advance(booking.starts_at - timedelta(hours=1) - notification_app.clock.now())

    assert await _remind(notification_app) == 0
    await notification_app.deliver()
    assert _reminder_emails(smtp_sink) == []


async def test_a_changed_booking_is_reminded_24_hours_before_its_new_start_only(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    confirmed = booking_confirmed()  # 09:00 UTC on 10 May 2031, moved two days and three hours later
    await notification_app.consume(confirmed, _change(confirmed, later_by=timedelta(days=2, hours=3)))

    notification_app.clock.advance(_starts_at(confirmed) - REMINDER_LEAD - notification_app.clock.now())
    assert await _remind(notification_app) == 0
    notification_app.clock.advance(timedelta(days=2, hours=3))
    assert await _remind(notification_app) == 1
    await notification_app.deliver()

    [reminder] = _reminder_emails(smtp_sink)
    assert "Monday, May 12, 2031, 1:00\u202fPM (Western European Summer Time)" in _text(reminder)


async def test_a_reminder_no_job_took_before_the_start_is_not_sent_late(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    confirmed = booking_confirmed()
    await notification_app.consume(confirmed)
    notification_app.clock.advance(_starts_at(confirmed) - notification_app.clock.now())

    assert await _remind(notification_app) == 1
    await notification_app.deliver()
    assert _reminder_emails(smtp_sink) == []
    async with notification_app.sessions() as session:
        [reminder] = (await session.scalars(select(ScheduledReminder))).all()
    assert reminder.status == "missed"
