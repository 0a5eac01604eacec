"""The events that tell someone something, each declared once in a table of routes.

A route names an event, the notices it gives and the steps that follow it. A notice is one
kind of notification to one audience: who hears it (the traveler the event names, an account
found in the directory by its id, every admin), what the email says (a builder of
`email/`), what it is about, and its SMS text when it goes by SMS. One event may give several
notices (a confirmed booking tells its traveler and its provider), each to any number of
people; the notification is unique by (event, kind, recipient), so a repeated event tells
nobody anything twice. Everything is recorded with its deliveries in the transaction of the
event's inbox row, then the route's steps run in it (reminders, the provider's manifest).
Sending is the delivery worker's (`service.deliver_due`), after the transaction.

An account the directory has not heard of yet (the gateway announces accounts through
identity.account_changed, on its own topic, read apart from the others) is told when it does:
the notice waits with its event (`AwaitedAccount`) and the announcement's handler tells it.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID, uuid4

from redis.asyncio import Redis
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.directory.service import admin_recipients, apply_account_changed, recipient_for
from services.notification.email.ops_messages import payout_failed, payout_failed_ops, webhook_subscription_disabled
from services.notification.email.provider_messages import (
    handoff_requested,
    provider_booking_cancelled,
    provider_booking_changed,
    provider_booking_received,
)
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
from services.notification.email.traveler_messages import (
    booking_expired,
    payment_failed,
    refund_completed,
    waitlist_offered,
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
    storable,
)
from services.notification.notifications.models import AwaitedAccount
from services.notification.notifications.service import known_phone, record_notification
from services.notification.reminders.service import (
    cancel_traveler_reminder,
    move_traveler_reminder,
    schedule_traveler_reminder,
)
from services.notification.settings import NotificationSettings
from services.notification.sms.texts import booking_cancelled_text, booking_confirmed_text, waitlist_offered_text
from shared.clock import Clock
from shared.contracts.booking import (
    BookedOnBehalf,
    BookingBalanceChargeFailed,
    BookingCancelled,
    BookingConfirmed,
    BookingExpired,
    BookingModified,
    BookingPaymentFailed,
    BookingRefundCompleted,
    BookingRequestAccepted,
    BookingRequestCounterAccepted,
    BookingRequestCountered,
    BookingRequestCreated,
    BookingRequestDeclined,
    BookingRequestExpired,
    BookingRequestProviderReminded,
    BookingRequestProviderWarned,
    BookingToPay,
    HandoffRequested,
    RequestFacts,
    WaitlistOffered,
)
from shared.contracts.identity import (
    AccountChanged,
    EmailVerificationRequested,
    IdentityEvent,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationAttempted,
)
from shared.contracts.payment import PayoutFailed
from shared.contracts.webhooks import WebhookSubscriptionDisabled
from shared.events.consumer import ConsumerSpec, EventHandler, HandlerKey
from shared.events.envelope import EventEnvelope, EventPayload, topic_for

logger = logging.getLogger(__name__)

E = TypeVar("E", bound=EventPayload)
T = TypeVar("T")


@dataclass(frozen=True)
class Composing:
    """What composing an event's notifications may use: the transaction of its inbox row (to
    find people in the directory), the settings (the sender's address), and now."""

    session: AsyncSession
    settings: NotificationSettings
    now: datetime
    # The event composed for, and the notice being composed: what an account the directory does
    # not know yet waits with.
    source_event_id: UUID
    kind: NotificationKind | None = None


# Who hears a notice of an event: the recipients, each with their account, locale and the
# listing's timezone; the address the email goes to is the one its builder writes to.
Audience = Callable[[Composing, T], Awaitable[list[Recipient]]]
# The email to one recipient, rendered in their locale.
Write = Callable[[T, Recipient, NotificationSettings], EmailMessage]
Step = Callable[[Composing, T], Awaitable[None]]


@dataclass(frozen=True)
class Notice(Generic[T]):
    """One kind of notification an event gives to one audience."""

    kind: NotificationKind
    to: Audience[T]
    write: Write[T]
    about: Callable[[T], tuple[SubjectType, UUID | None]]
    sms: Callable[[T], str] | None = None
    # The title shown in-app, when it has to say more than the email's subject.
    title: Callable[[T, str], str] | None = None
    # Off for an event whose one-use tokens belong in the email alone.
    keep_facts: bool = True

    async def drafts(self, composing: Composing, event: T, facts: dict[str, Any]) -> list[NotificationDraft]:
        subject_type, subject_id = self.about(event)
        drafts = []
        for recipient in await self.to(replace(composing, kind=self.kind), event):
            message = self.write(event, recipient, composing.settings)
            subject = str(message["Subject"])
            drafts.append(
                NotificationDraft(
                    kind=self.kind,
                    # The address as the message's one-line To header has it: never an event's raw text.
                    recipient=replace(recipient, email=str(message["To"])),
                    subject_type=subject_type,
                    subject_id=subject_id,
                    title=self.title(event, subject) if self.title is not None else subject,
                    email=message,
                    facts=facts if self.keep_facts else {},
                    sms=self.sms(event) if self.sms is not None else None,
                )
            )
        return drafts


@dataclass(frozen=True)
class Route(Generic[E]):
    """An event's notices, then its steps, in the transaction of its inbox row."""

    event: type[E]
    notices: tuple[Notice[E], ...]
    then: tuple[Step[E], ...] = ()


def _handler(
    route: Route[Any], *, settings: NotificationSettings, clock: Clock, redis: Redis
) -> tuple[HandlerKey, EventHandler]:
    async def handle(session: AsyncSession, envelope: EventEnvelope) -> None:
        event = route.event.model_validate(envelope.payload)
        composing = Composing(session=session, settings=settings, now=clock.now(), source_event_id=envelope.event_id)
        for notice in route.notices:
            await _tell(composing, notice, event, redis=redis)
        for step in route.then:
            await step(composing, event)

    return (route.event.event_type, route.event.event_version), handle


async def _tell(composing: Composing, notice: Notice[Any], event: EventPayload, *, redis: Redis) -> None:
    for draft in await notice.drafts(composing, event, event.model_dump(mode="json")):
        await record_notification(
            composing.session,
            source_event_id=composing.source_event_id,
            draft=draft,
            now=composing.now,
            addressing=composing.settings.addressing(),
            redis=redis,
        )


async def _await_account(composing: Composing, user_id: UUID, event: EventPayload) -> None:
    """Keep the notice being composed until the directory hears of `user_id`."""
    assert composing.kind is not None, "an audience is asked for a notice's recipients"
    await composing.session.execute(
        insert(AwaitedAccount)
        .values(
            id=uuid4(),
            user_id=user_id,
            source_event_id=composing.source_event_id,
            kind=composing.kind.value,
            event_type=event.event_type,
            event_version=event.event_version,
            payload=storable(event.model_dump(mode="json")),
            awaited_since=composing.now,
        )
        .on_conflict_do_nothing(index_elements=["source_event_id", "kind", "user_id"])
    )


def _account_changed_handler(
    routes: tuple[Route[Any], ...], *, settings: NotificationSettings, clock: Clock, redis: Redis
) -> tuple[HandlerKey, EventHandler]:
    """The directory keeps the account, then the notices that awaited it are told, in the same
    transaction (each once: the notification is unique per event, kind and recipient)."""
    notices = {
        (route.event.event_type, route.event.event_version, notice.kind.value): (route.event, notice)
        for route in routes
        for notice in route.notices
    }

    async def handle(session: AsyncSession, envelope: EventEnvelope) -> None:
        account = AccountChanged.model_validate(envelope.payload)
        await apply_account_changed(session, account)
        awaited = (
            await session.scalars(
                delete(AwaitedAccount).where(AwaitedAccount.user_id == account.user_id).returning(AwaitedAccount)
            )
        ).all()
        for waiting in awaited:
            found = notices.get((waiting.event_type, waiting.event_version, waiting.kind))
            if found is None:
                continue
            event_type, notice = found
            composing = Composing(
                session=session, settings=settings, now=clock.now(), source_event_id=waiting.source_event_id
            )
            await _tell(composing, notice, event_type.model_validate(waiting.payload), redis=redis)

    return (AccountChanged.event_type, AccountChanged.event_version), handle


def _handlers(
    routes: tuple[Route[Any], ...], *, settings: NotificationSettings, clock: Clock, redis: Redis
) -> dict[HandlerKey, EventHandler]:
    return dict(_handler(route, settings=settings, clock=clock, redis=redis) for route in routes)


# Audiences.


class TravelerEvent(Protocol):
    @property
    def traveler_id(self) -> UUID | None: ...

    @property
    def timezone(self) -> str | None: ...


TE = TypeVar("TE", bound=TravelerEvent)


def _traveler(
    email: Callable[[TE], str | None],
    *,
    phone: Callable[[TE], str | None] | None = None,
    phone_on_record: bool = False,
) -> Audience[TE]:
    """The traveler the event names, in their locale (the directory's, else English), at the
    address the event gives (else their account's). `phone` is the number the event carries;
    `phone_on_record` takes the one they last gave instead, for an event that carries none."""

    async def audience(composing: Composing, event: TE) -> list[Recipient]:
        account = await recipient_for(composing.session, event.traveler_id) if event.traveler_id else None
        address = email(event) or (account.email if account is not None else None)
        if address is None:
            logger.info("%s: no address for traveler %s, not told", type(event).__name__, event.traveler_id)
            return []
        number = phone(event) if phone is not None else None
        if phone_on_record and event.traveler_id is not None:
            number = await known_phone(composing.session, event.traveler_id)
        return [
            Recipient(
                email=address,
                user_id=event.traveler_id,
                phone=number,
                locale=account.locale if account is not None else "en",
                timezone=event.timezone,
            )
        ]

    return audience


def _account(user_id: Callable[[E], UUID], *, timezone: Callable[[E], str | None] | None = None) -> Audience[E]:
    """The account the event names by id, as the directory knows it (dates in the listing's
    `timezone`, when the event is about one). One the directory has not heard of yet is told
    when it does: the notice waits for the account's announcement."""

    async def audience(composing: Composing, event: E) -> list[Recipient]:
        account_id = user_id(event)
        account = await recipient_for(composing.session, account_id)
        if account is None:
            logger.info(
                "%s: account %s is not in the directory yet, the notice waits", type(event).__name__, account_id
            )
            await _await_account(composing, account_id, event)
            return []
        return [replace(account, timezone=timezone(event) if timezone is not None else None)]

    return audience


async def _admins(composing: Composing, event: object) -> list[Recipient]:
    admins = await admin_recipients(composing.session)
    if not admins:
        logger.warning("%s: no admin in the directory to tell", type(event).__name__)
    return admins


async def _request_provider(_composing: Composing, request: RequestFacts) -> list[Recipient]:
    """The provider a booking request is for, at the address its listing gives."""
    if request.provider_email is None:
        return []  # a listing from before providers' emails were kept: nowhere to write
    return [Recipient(email=request.provider_email, user_id=request.provider_id, timezone=request.timezone)]


async def _owner(composing: Composing, event: IdentityEvent) -> list[Recipient]:
    """The account's owner at the address the event names (the one being verified or
    guarded), in their locale when the directory knows it."""
    account = await recipient_for(composing.session, event.user_id)
    return [Recipient(email=event.email, user_id=event.user_id, locale=account.locale if account else "en")]


def _contact(booking: BookingConfirmed | BookingCancelled | BookingModified | BookingBalanceChargeFailed) -> str:
    return booking.contact_email


def _blackout_title(booking: BookingCancelled, subject: str) -> str:
    """In-app, a blackout's cancellation says so before anything else."""
    return f"Date blacked out: {subject}" if booking.blackout_id is not None else subject


def _provider(booking: BookingConfirmed | BookingCancelled | BookingModified) -> UUID:
    return booking.provider_id


ToProvider = BookingRequestCreated | BookingRequestProviderReminded | BookingRequestProviderWarned

BOOKING_ROUTES: tuple[Route[Any], ...] = (
    Route[BookingConfirmed](
        BookingConfirmed,
        notices=(
            Notice(
                NotificationKind.BOOKING_CONFIRMED,
                to=_traveler(_contact, phone=lambda b: b.contact_phone),
                write=lambda b, to, s: booking_confirmation(b, sender=s.mail_from, locale=to.locale),
                about=lambda b: ("booking", b.booking_id),
                sms=booking_confirmed_text,
            ),
            Notice(
                NotificationKind.PROVIDER_BOOKING_RECEIVED,
                to=_account(_provider, timezone=lambda b: b.timezone),
                write=lambda b, to, s: provider_booking_received(
                    b, sender=s.mail_from, recipient=to.email, locale=to.locale
                ),
                about=lambda b: ("booking", b.booking_id),
            ),
        ),
        then=(
            lambda c, b: schedule_traveler_reminder(c.session, b, now=c.now),
            lambda c, b: keep_confirmed_booking(c.session, b),
        ),
    ),
    Route[BookingCancelled](
        BookingCancelled,
        notices=(
            Notice(
                NotificationKind.BOOKING_CANCELLED,
                to=_traveler(_contact, phone=lambda b: b.contact_phone),
                write=lambda b, to, s: booking_cancellation(b, sender=s.mail_from, locale=to.locale),
                about=lambda b: ("booking", b.booking_id),
                sms=booking_cancelled_text,
                title=_blackout_title,
            ),
            Notice(
                NotificationKind.PROVIDER_BOOKING_CANCELLED,
                to=_account(_provider, timezone=lambda b: b.timezone),
                write=lambda b, to, s: provider_booking_cancelled(
                    b, sender=s.mail_from, recipient=to.email, locale=to.locale
                ),
                about=lambda b: ("booking", b.booking_id),
                title=_blackout_title,
            ),
        ),
        then=(
            lambda c, b: cancel_traveler_reminder(c.session, b, now=c.now),
            lambda c, b: keep_cancelled_booking(c.session, b),
        ),
    ),
    Route[BookingModified](
        BookingModified,
        notices=(
            Notice(
                NotificationKind.BOOKING_CHANGED,
                to=_traveler(_contact),
                write=lambda b, to, s: booking_change(b, sender=s.mail_from, locale=to.locale),
                about=lambda b: ("booking", b.booking_id),
            ),
            Notice(
                NotificationKind.PROVIDER_BOOKING_CHANGED,
                to=_account(_provider, timezone=lambda b: b.timezone),
                write=lambda b, to, s: provider_booking_changed(
                    b, sender=s.mail_from, recipient=to.email, locale=to.locale
                ),
                about=lambda b: ("booking", b.booking_id),
            ),
        ),
        then=(
            lambda c, b: move_traveler_reminder(c.session, b, now=c.now),
            lambda c, b: keep_changed_booking(c.session, b),
        ),
    ),
    Route[BookingBalanceChargeFailed](
        BookingBalanceChargeFailed,
        notices=(
            Notice(
                NotificationKind.BALANCE_CHARGE_FAILED,
                to=_traveler(_contact),
                write=lambda b, to, s: balance_charge_failed(b, sender=s.mail_from, locale=to.locale),
                about=lambda b: ("booking", b.booking_id),
            ),
        ),
    ),
    Route[BookedOnBehalf](
        BookedOnBehalf,
        notices=(
            Notice(
                NotificationKind.BOOKED_ON_BEHALF,
                to=_traveler(lambda b: b.traveler_email),
                write=lambda b, to, s: booked_on_behalf(b, sender=s.mail_from, locale=to.locale),
                about=lambda b: ("booking", b.booking_id),
            ),
        ),
    ),
    *(
        Route[ToProvider](
            event,
            notices=(
                Notice(
                    kind,
                    to=_request_provider,
                    write=lambda r, to, s: request_to_provider(
                        r, recipient=to.email, sender=s.mail_from, locale=to.locale
                    ),
                    about=lambda r: ("booking_request", r.request_id),
                ),
            ),
        )
        for event, kind in (
            (BookingRequestCreated, NotificationKind.BOOKING_REQUEST_CREATED),
            (BookingRequestProviderReminded, NotificationKind.BOOKING_REQUEST_PROVIDER_REMINDED),
            (BookingRequestProviderWarned, NotificationKind.BOOKING_REQUEST_PROVIDER_WARNED),
        )
    ),
    *(
        Route[BookingToPay](
            event,
            notices=(
                Notice(
                    kind,
                    to=_traveler(lambda r: r.traveler_email or r.contact_email),
                    write=lambda r, to, s: request_answered(r, sender=s.mail_from, locale=to.locale),
                    about=lambda r: ("booking", r.booking_id),
                ),
            ),
        )
        for event, kind in (
            (BookingRequestAccepted, NotificationKind.BOOKING_REQUEST_ACCEPTED),
            (BookingRequestCounterAccepted, NotificationKind.BOOKING_REQUEST_COUNTER_ACCEPTED),
        )
    ),
    Route[BookingRequestDeclined](
        BookingRequestDeclined,
        notices=(
            Notice(
                NotificationKind.BOOKING_REQUEST_DECLINED,
                to=_traveler(lambda r: r.traveler_email or r.contact_email),
                write=lambda r, to, s: request_declined(r, sender=s.mail_from, locale=to.locale),
                about=lambda r: ("booking_request", r.request_id),
            ),
        ),
    ),
    Route[BookingRequestCountered](
        BookingRequestCountered,
        notices=(
            Notice(
                NotificationKind.BOOKING_REQUEST_COUNTERED,
                to=_traveler(lambda r: r.traveler_email or r.contact_email),
                write=lambda r, to, s: request_countered(r, sender=s.mail_from, locale=to.locale),
                about=lambda r: ("booking_request", r.request_id),
            ),
        ),
    ),
    Route[BookingRequestExpired](
        BookingRequestExpired,
        notices=(
            Notice(
                NotificationKind.BOOKING_REQUEST_EXPIRED,
                to=_traveler(lambda r: r.traveler_email or r.contact_email),
                write=lambda r, to, s: request_expired(r, sender=s.mail_from, locale=to.locale),
                about=lambda r: ("booking_request", r.request_id),
            ),
        ),
    ),
    Route[BookingExpired](
        BookingExpired,
        notices=(
            Notice(
                NotificationKind.BOOKING_EXPIRED,
                to=_traveler(lambda b: b.contact_email),
                write=lambda b, to, s: booking_expired(b, sender=s.mail_from, recipient=to.email, locale=to.locale),
                about=lambda b: ("booking", b.booking_id),
            ),
        ),
    ),
    Route[BookingPaymentFailed](
        BookingPaymentFailed,
        notices=(
            Notice(
                NotificationKind.PAYMENT_FAILED,
                to=_traveler(lambda b: b.contact_email),
                write=lambda b, to, s: payment_failed(b, sender=s.mail_from, recipient=to.email, locale=to.locale),
                about=lambda b: ("booking", b.booking_id),
            ),
        ),
    ),
    Route[BookingRefundCompleted](
        BookingRefundCompleted,
        notices=(
            Notice(
                NotificationKind.REFUND_COMPLETED,
                to=_traveler(lambda r: r.contact_email),
                write=lambda r, to, s: refund_completed(r, sender=s.mail_from, recipient=to.email, locale=to.locale),
                about=lambda r: ("booking", r.booking_id),
            ),
        ),
    ),
    Route[WaitlistOffered](
        WaitlistOffered,
        notices=(
            Notice(
                NotificationKind.WAITLIST_OFFERED,
                to=_traveler(lambda o: o.traveler_email, phone_on_record=True),
                write=lambda o, to, s: waitlist_offered(o, sender=s.mail_from, recipient=to.email, locale=to.locale),
                about=lambda o: ("waitlist_entry", o.entry_id),
                sms=waitlist_offered_text,
            ),
        ),
    ),
    Route[HandoffRequested](
        HandoffRequested,
        notices=(
            Notice(
                NotificationKind.HANDOFF_REQUESTED,
                to=_account(lambda h: h.expert_id),
                write=lambda h, to, s: handoff_requested(h, sender=s.mail_from, recipient=to.email, locale=to.locale),
                about=lambda h: ("handoff", h.handoff_id),
            ),
        ),
    ),
    Route[WebhookSubscriptionDisabled](
        WebhookSubscriptionDisabled,
        notices=(
            Notice(
                NotificationKind.WEBHOOK_SUBSCRIPTION_DISABLED,
                to=_account(lambda w: w.owner_id),
                write=lambda w, to, s: webhook_subscription_disabled(
                    w, sender=s.mail_from, recipient=to.email, locale=to.locale
                ),
                about=lambda w: ("webhook_subscription", w.subscription_id),
            ),
        ),
    ),
)

PAYMENT_ROUTES: tuple[Route[Any], ...] = (
    Route[PayoutFailed](
        PayoutFailed,
        notices=(
            Notice(
                NotificationKind.PAYOUT_FAILED_OPS,
                to=_admins,
                write=lambda p, to, s: payout_failed_ops(p, sender=s.mail_from, recipient=to.email, locale=to.locale),
                about=lambda p: ("payout", p.payout_id),
            ),
            Notice(
                NotificationKind.PAYOUT_FAILED,
                to=_account(lambda p: p.recipient_id),
                write=lambda p, to, s: payout_failed(p, sender=s.mail_from, recipient=to.email, locale=to.locale),
                about=lambda p: ("payout", p.payout_id),
            ),
        ),
    ),
)


def _account_email(
    event: type[IdentityEvent], kind: NotificationKind, template: Callable[..., EmailMessage]
) -> Route[Any]:
    return Route(
        event,
        notices=(
            Notice(
                kind,
                to=_owner,
                write=lambda e, to, s: template(e, sender=s.mail_from, web_app_url=s.web_app_url, locale=to.locale),
                about=lambda e: ("account", e.user_id),
                # The event's one-use tokens stay in the email alone, not in the notification's facts.
                keep_facts=False,
            ),
        ),
    )


IDENTITY_ROUTES: tuple[Route[Any], ...] = (
    _account_email(EmailVerificationRequested, NotificationKind.EMAIL_VERIFICATION, email_verification),
    _account_email(RegistrationAttempted, NotificationKind.REGISTRATION_ATTEMPTED, registration_attempted),
    _account_email(PasswordResetRequested, NotificationKind.PASSWORD_RESET, password_reset),
    _account_email(PasswordChanged, NotificationKind.PASSWORD_CHANGED, password_changed),
)


def booking_events_consumer(settings: NotificationSettings, clock: Clock, redis: Redis) -> ConsumerSpec:
    return ConsumerSpec(
        name="notification.booking-events",
        topics=(topic_for("booking"),),
        handlers=_handlers(BOOKING_ROUTES, settings=settings, clock=clock, redis=redis),
    )


def payment_events_consumer(settings: NotificationSettings, clock: Clock, redis: Redis) -> ConsumerSpec:
    """Payment's events for ops and payees: a payout the bank refused."""
    return ConsumerSpec(
        name="notification.payment-events",
        topics=(topic_for("payment"),),
        handlers=_handlers(PAYMENT_ROUTES, settings=settings, clock=clock, redis=redis),
    )


def identity_events_consumer(settings: NotificationSettings, clock: Clock, redis: Redis) -> ConsumerSpec:
    """The gateway's identity events become emails to the account's owner, and keep the directory."""
    return ConsumerSpec(
        name="notification.identity-events",
        topics=(topic_for("gateway"),),
        handlers=_handlers(IDENTITY_ROUTES, settings=settings, clock=clock, redis=redis)
        | dict(
            [
                _account_changed_handler(
                    BOOKING_ROUTES + PAYMENT_ROUTES + IDENTITY_ROUTES, settings=settings, clock=clock, redis=redis
                )
            ]
        ),
    )
