"""Emails: queued in the transaction of the event that causes them, sent over SMTP after it,
retried with the attempts counted, and left `dead` after the last one."""

import logging
from datetime import datetime
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notification.email.models import EmailDelivery
from services.notification.email.templates import (
    balance_charge_failed,
    booked_on_behalf,
    booking_cancellation,
    booking_change,
    booking_confirmation,
    request_answered,
    request_countered,
    request_declined,
    request_expired,
    request_to_provider,
)
from services.notification.settings import NotificationSettings
from shared.contracts.booking import (
    BookedOnBehalf,
    BookingBalanceChargeFailed,
    BookingCancelled,
    BookingConfirmed,
    BookingModified,
    BookingRequestAccepted,
    BookingRequestCounterAccepted,
    BookingRequestCountered,
    BookingRequestCreated,
    BookingRequestDeclined,
    BookingRequestExpired,
    BookingRequestProviderReminded,
    BookingRequestProviderWarned,
    BookingToPay,
)
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for

logger = logging.getLogger(__name__)


def booking_events_consumer(settings: NotificationSettings) -> ConsumerSpec:
    def queue(session: AsyncSession, kind: str, message: EmailMessage) -> None:
        # The recipient as the message's one-line To header has it: never the raw text of an event.
        session.add(
            EmailDelivery(
                kind=kind, recipient=str(message["To"]), subject=str(message["Subject"]), message=message.as_bytes()
            )
        )

    async def queue_confirmation(session: AsyncSession, booking: BookingConfirmed) -> None:
        queue(session, booking.event_type, booking_confirmation(booking, sender=settings.mail_from))

    async def queue_cancellation(session: AsyncSession, booking: BookingCancelled) -> None:
        queue(session, booking.event_type, booking_cancellation(booking, sender=settings.mail_from))

    async def queue_to_provider(
        session: AsyncSession,
        request: BookingRequestCreated | BookingRequestProviderReminded | BookingRequestProviderWarned,
    ) -> None:
        if request.provider_email is None:
            return  # a listing from before providers' emails were kept: nowhere to write
        message = request_to_provider(request, recipient=request.provider_email, sender=settings.mail_from)
        queue(session, request.event_type, message)

    async def queue_answered(session: AsyncSession, request: BookingToPay) -> None:
        queue(session, request.event_type, request_answered(request, sender=settings.mail_from))

    async def queue_declined(session: AsyncSession, request: BookingRequestDeclined) -> None:
        queue(session, request.event_type, request_declined(request, sender=settings.mail_from))

    async def queue_countered(session: AsyncSession, request: BookingRequestCountered) -> None:
        queue(session, request.event_type, request_countered(request, sender=settings.mail_from))

    async def queue_expired(session: AsyncSession, request: BookingRequestExpired) -> None:
        queue(session, request.event_type, request_expired(request, sender=settings.mail_from))

    async def queue_change(session: AsyncSession, booking: BookingModified) -> None:
        queue(session, booking.event_type, booking_change(booking, sender=settings.mail_from))

    async def queue_balance_charge_failed(session: AsyncSession, booking: BookingBalanceChargeFailed) -> None:
        queue(session, booking.event_type, balance_charge_failed(booking, sender=settings.mail_from))

    async def queue_booked_on_behalf(session: AsyncSession, booking: BookedOnBehalf) -> None:
        queue(session, booking.event_type, booked_on_behalf(booking, sender=settings.mail_from))

    return ConsumerSpec(
        name="notification.booking-events",
        topics=(topic_for("booking"),),
        handlers=dict(
            [
                handles(BookingConfirmed, queue_confirmation),
                handles(BookingCancelled, queue_cancellation),
                handles(BookingRequestCreated, queue_to_provider),
                handles(BookingRequestProviderReminded, queue_to_provider),
                handles(BookingRequestProviderWarned, queue_to_provider),
                handles(BookingRequestAccepted, queue_answered),
                handles(BookingRequestCounterAccepted, queue_answered),
                handles(BookingRequestDeclined, queue_declined),
                handles(BookingRequestCountered, queue_countered),
                handles(BookingRequestExpired, queue_expired),
                handles(BookedOnBehalf, queue_booked_on_behalf),
                handles(BookingModified, queue_change),
                handles(BookingBalanceChargeFailed, queue_balance_charge_failed),
            ]
        ),
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
