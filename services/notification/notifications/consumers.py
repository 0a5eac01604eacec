"""The events that tell someone something: each handler composes the notification (today's
email templates) and records it with its deliveries in the transaction of the event's inbox
row. Sending is the delivery worker's (`service.deliver_due`), after the transaction."""

from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import TypeVar
from uuid import UUID

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.directory.consumers import account_changed_handler
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
from services.notification.identity.templates import (
    email_verification,
    password_changed,
    password_reset,
    registration_attempted,
)
from services.notification.manifests.service import (
    keep_cancelled_booking,
    keep_changed_booking,
    keep_confirmed_booking,
)
from services.notification.notifications.domain import (
    NotificationDraft,
    NotificationKind,
    Recipient,
    SubjectType,
)
from services.notification.notifications.service import record_notification
from services.notification.reminders.service import (
    cancel_traveler_reminder,
    move_traveler_reminder,
    schedule_traveler_reminder,
)
from services.notification.settings import NotificationSettings
from services.notification.sms.texts import booking_cancelled_text, booking_confirmed_text
from shared.clock import Clock
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
from shared.contracts.identity import (
    EmailVerificationRequested,
    IdentityEvent,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationAttempted,
)
from shared.events.consumer import ConsumerSpec, EventHandler, HandlerKey
from shared.events.envelope import EventEnvelope, EventPayload, topic_for

PayloadT = TypeVar("PayloadT", bound=EventPayload)
Compose = Callable[[PayloadT], NotificationDraft | None]


def _notifying(
    payload_type: type[PayloadT],
    compose: Compose[PayloadT],
    *,
    settings: NotificationSettings,
    clock: Clock,
    redis: Redis,
) -> tuple[HandlerKey, EventHandler]:
    """A handler that records what `compose` makes of the event, keyed by the event's id."""

    async def handle(session: AsyncSession, envelope: EventEnvelope) -> None:
        draft = compose(payload_type.model_validate(envelope.payload))
        if draft is not None:
            await record_notification(
                session,
                source_event_id=envelope.event_id,
                draft=draft,
                now=clock.now(),
                message_id_domain=settings.message_id_domain,
                redis=redis,
                sms_default_region=settings.sms_default_region,
            )

    return (payload_type.event_type, payload_type.event_version), handle


def _then(
    entry: tuple[HandlerKey, EventHandler],
    payload_type: type[PayloadT],
    step: Callable[[AsyncSession, PayloadT], Awaitable[None]],
) -> tuple[HandlerKey, EventHandler]:
    """The handler of `entry`, then `step` on the same event in the same transaction."""
    key, handle = entry

    async def handle_then_step(session: AsyncSession, envelope: EventEnvelope) -> None:
        await handle(session, envelope)
        await step(session, payload_type.model_validate(envelope.payload))

    return key, handle_then_step


def _draft(
    kind: NotificationKind,
    message: EmailMessage,
    *,
    event: EventPayload,
    user_id: UUID,
    timezone: str | None,
    about: tuple[SubjectType, UUID | None],
    keep_facts: bool = True,
    phone: str | None = None,
    sms: str | None = None,
) -> NotificationDraft:
    subject_type, subject_id = about
    return NotificationDraft(
        kind=kind,
        # The address as the message's one-line To header has it: never the raw text of an event.
        recipient=Recipient(email=str(message["To"]), user_id=user_id, phone=phone, timezone=timezone),
        subject_type=subject_type,
        subject_id=subject_id,
        title=str(message["Subject"]),
        email=message,
        facts=event.model_dump(mode="json") if keep_facts else {},
        sms=sms,
    )


def booking_events_consumer(settings: NotificationSettings, clock: Clock, redis: Redis) -> ConsumerSpec:
    sender = settings.mail_from

    def confirmed(booking: BookingConfirmed) -> NotificationDraft:
        return _draft(
            NotificationKind.BOOKING_CONFIRMED,
            booking_confirmation(booking, sender=sender),
            event=booking,
            user_id=booking.traveler_id,
            timezone=booking.timezone,
            about=("booking", booking.booking_id),
            phone=booking.contact_phone,
            sms=booking_confirmed_text(booking),
        )

    def cancelled(booking: BookingCancelled) -> NotificationDraft:
        return _draft(
            NotificationKind.BOOKING_CANCELLED,
            booking_cancellation(booking, sender=sender),
            event=booking,
            user_id=booking.traveler_id,
            timezone=booking.timezone,
            about=("booking", booking.booking_id),
            phone=booking.contact_phone,
            sms=booking_cancelled_text(booking),
        )

    def changed(booking: BookingModified) -> NotificationDraft:
        return _draft(
            NotificationKind.BOOKING_CHANGED,
            booking_change(booking, sender=sender),
            event=booking,
            user_id=booking.traveler_id,
            timezone=booking.timezone,
            about=("booking", booking.booking_id),
        )

    def balance_not_charged(booking: BookingBalanceChargeFailed) -> NotificationDraft:
        return _draft(
            NotificationKind.BALANCE_CHARGE_FAILED,
            balance_charge_failed(booking, sender=sender),
            event=booking,
            user_id=booking.traveler_id,
            timezone=booking.timezone,
            about=("booking", booking.booking_id),
        )

    def on_behalf(booking: BookedOnBehalf) -> NotificationDraft:
        return _draft(
            NotificationKind.BOOKED_ON_BEHALF,
            booked_on_behalf(booking, sender=sender),
            event=booking,
            user_id=booking.traveler_id,
            timezone=booking.timezone,
            about=("booking", booking.booking_id),
        )

    def to_provider(
        kind: NotificationKind,
    ) -> Compose[BookingRequestCreated | BookingRequestProviderReminded | BookingRequestProviderWarned]:
        def compose(
            request: BookingRequestCreated | BookingRequestProviderReminded | BookingRequestProviderWarned,
        ) -> NotificationDraft | None:
            if request.provider_email is None:
                return None  # a listing from before providers' emails were kept: nowhere to write
            return _draft(
                kind,
                request_to_provider(request, recipient=request.provider_email, sender=sender),
                event=request,
                user_id=request.provider_id,
                timezone=request.timezone,
                about=("booking_request", request.request_id),
            )

        return compose

    def answered(kind: NotificationKind) -> Compose[BookingToPay]:
        def compose(request: BookingToPay) -> NotificationDraft:
            return _draft(
                kind,
                request_answered(request, sender=sender),
                event=request,
                user_id=request.traveler_id,
                timezone=request.timezone,
                about=("booking", request.booking_id),
            )

        return compose

    def declined(request: BookingRequestDeclined) -> NotificationDraft:
        return _draft(
            NotificationKind.BOOKING_REQUEST_DECLINED,
            request_declined(request, sender=sender),
            event=request,
            user_id=request.traveler_id,
            timezone=request.timezone,
            about=("booking_request", request.request_id),
        )

    def countered(request: BookingRequestCountered) -> NotificationDraft:
        return _draft(
            NotificationKind.BOOKING_REQUEST_COUNTERED,
            request_countered(request, sender=sender),
            event=request,
            user_id=request.traveler_id,
            timezone=request.timezone,
            about=("booking_request", request.request_id),
        )

    def expired(request: BookingRequestExpired) -> NotificationDraft:
        return _draft(
            NotificationKind.BOOKING_REQUEST_EXPIRED,
            request_expired(request, sender=sender),
            event=request,
            user_id=request.traveler_id,
            timezone=request.timezone,
            about=("booking_request", request.request_id),
        )

    def notifying(payload_type: type[PayloadT], compose: Compose[PayloadT]) -> tuple[HandlerKey, EventHandler]:
        return _notifying(payload_type, compose, settings=settings, clock=clock, redis=redis)

    async def schedule_reminder(session: AsyncSession, booking: BookingConfirmed) -> None:
        await schedule_traveler_reminder(session, booking, now=clock.now())

    async def cancel_reminder(session: AsyncSession, booking: BookingCancelled) -> None:
        await cancel_traveler_reminder(session, booking, now=clock.now())

    async def move_reminder(session: AsyncSession, booking: BookingModified) -> None:
        await move_traveler_reminder(session, booking, now=clock.now())

    return ConsumerSpec(
        name="notification.booking-events",
        topics=(topic_for("booking"),),
        handlers=dict(
            [
                _then(
                    _then(notifying(BookingConfirmed, confirmed), BookingConfirmed, schedule_reminder),
                    BookingConfirmed,
                    keep_confirmed_booking,
                ),
                _then(
                    _then(notifying(BookingCancelled, cancelled), BookingCancelled, cancel_reminder),
                    BookingCancelled,
                    keep_cancelled_booking,
                ),
                notifying(BookingRequestCreated, to_provider(NotificationKind.BOOKING_REQUEST_CREATED)),
                notifying(
                    BookingRequestProviderReminded, to_provider(NotificationKind.BOOKING_REQUEST_PROVIDER_REMINDED)
                ),
                notifying(BookingRequestProviderWarned, to_provider(NotificationKind.BOOKING_REQUEST_PROVIDER_WARNED)),
                notifying(BookingRequestAccepted, answered(NotificationKind.BOOKING_REQUEST_ACCEPTED)),
                notifying(BookingRequestCounterAccepted, answered(NotificationKind.BOOKING_REQUEST_COUNTER_ACCEPTED)),
                notifying(BookingRequestDeclined, declined),
                notifying(BookingRequestCountered, countered),
                notifying(BookingRequestExpired, expired),
                notifying(BookedOnBehalf, on_behalf),
                _then(
                    _then(notifying(BookingModified, changed), BookingModified, move_reminder),
                    BookingModified,
                    keep_changed_booking,
                ),
                notifying(BookingBalanceChargeFailed, balance_not_charged),
            ]
        ),
    )


IdentityT = TypeVar("IdentityT", bound=IdentityEvent)


def identity_events_consumer(settings: NotificationSettings, clock: Clock, redis: Redis) -> ConsumerSpec:
    """The gateway's identity events become emails to the account's owner."""

    def account_email(
        event_type: type[IdentityT], kind: NotificationKind, template: Callable[..., EmailMessage]
    ) -> tuple[HandlerKey, EventHandler]:
        def compose(event: IdentityT) -> NotificationDraft:
            message = template(event, sender=settings.mail_from, web_app_url=settings.web_app_url)
            # The event's one-use tokens stay in the email alone, not in the notification's facts.
            return _draft(
                kind,
                message,
                event=event,
                user_id=event.user_id,
                timezone=None,
                about=("account", event.user_id),
                keep_facts=False,
            )

        return _notifying(event_type, compose, settings=settings, clock=clock, redis=redis)

    return ConsumerSpec(
        name="notification.identity-events",
        topics=(topic_for("gateway"),),
        handlers=dict(
            [
                account_email(EmailVerificationRequested, NotificationKind.EMAIL_VERIFICATION, email_verification),
                account_email(RegistrationAttempted, NotificationKind.REGISTRATION_ATTEMPTED, registration_attempted),
                account_email(PasswordResetRequested, NotificationKind.PASSWORD_RESET, password_reset),
                account_email(PasswordChanged, NotificationKind.PASSWORD_CHANGED, password_changed),
                account_changed_handler(),
            ]
        ),
    )
