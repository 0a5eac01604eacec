"""Emails: queued in the transaction of the event that causes them, sent over SMTP after it,
retried with the attempts counted, and left `dead` after the last one."""

import logging
from datetime import datetime

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.booking.bookings.events import BookingCancelled, BookingConfirmed
from services.notification.email.models import EmailDelivery
from services.notification.email.templates import booking_cancellation, booking_confirmation
from services.notification.settings import NotificationSettings
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for

logger = logging.getLogger(__name__)


def booking_events_consumer(settings: NotificationSettings) -> ConsumerSpec:
    async def queue_confirmation(session: AsyncSession, booking: BookingConfirmed) -> None:
        message = booking_confirmation(booking, sender=settings.mail_from)
        session.add(
            EmailDelivery(
                kind="booking.confirmed",
                recipient=booking.contact_email,
                subject=str(message["Subject"]),
                message=message.as_bytes(),
            )
        )

    async def queue_cancellation(session: AsyncSession, booking: BookingCancelled) -> None:
        message = booking_cancellation(booking, sender=settings.mail_from)
        session.add(
            EmailDelivery(
                kind="booking.cancelled",
                recipient=booking.contact_email,
                subject=str(message["Subject"]),
                message=message.as_bytes(),
            )
        )

    return ConsumerSpec(
        name="notification.booking-events",
        topics=(topic_for("booking"),),
        handlers=dict([handles(BookingConfirmed, queue_confirmation), handles(BookingCancelled, queue_cancellation)]),
    )


async def send_pending_emails(
    session_factory: async_sessionmaker[AsyncSession], *, settings: NotificationSettings, now: datetime
) -> int:
    sent = 0
    async with session_factory() as session, session.begin():
        pending = (
            await session.scalars(
                select(EmailDelivery)
                .where(EmailDelivery.status == "pending")
                .order_by(EmailDelivery.created_at)
                .limit(20)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for delivery in pending:
            delivery.attempts += 1
            try:
                await aiosmtplib.send(
                    delivery.message,
                    sender=settings.mail_from,
                    recipients=[delivery.recipient],
                    hostname=settings.smtp_host,
                    port=settings.smtp_port,
                    timeout=settings.smtp_timeout_seconds,
                )
            except (aiosmtplib.SMTPException, OSError) as error:
                delivery.last_error = str(error)[:1000]
                if delivery.attempts >= settings.delivery_max_attempts:
                    delivery.status = "dead"
                    logger.error("email %s to %s is dead: %s", delivery.id, delivery.recipient, error)
                continue
            delivery.status, delivery.sent_at = "sent", now
            logger.info("sent %s email %s", delivery.kind, delivery.id)
            sent += 1
    return sent
