"""Notifications: recorded with the event that causes them, delivered after, outside any
database transaction.

Recording: an event's handler writes the notification and one delivery per channel in the
transaction of the event's inbox row. The notification is unique by (source event, kind,
recipient), so an event delivered twice, or replayed, tells nobody anything twice.

Delivering, by any number of worker replicas:
1. Claim: in one short transaction, lock due deliveries (`FOR UPDATE SKIP LOCKED`, so two
   replicas never take the same one), mark them `sending` with a lease (`next_attempt_at` is
   when it ends) and a fresh lease token, count the attempt, commit.
2. Send, with no transaction open.
3. Record the outcome, only if the lease token is still ours: `sent` with the provider's id,
   or `failed_retrying` with the next attempt after a backoff with full jitter
   (`RetrySchedule`), or `dead` once the delivery has been failing for the schedule's max
   age. Dead deliveries are counted (`notification_deliveries_dead_total`) and an admin can
   resend them.

What is guaranteed, and what is not: a worker that dies between claim and record (after the
SMTP server took the message, say) leaves the delivery `sending`; when its lease ends another
worker sends it again. So delivery to the provider is at least once, never at most once: no
protocol lets us learn whether a message handed over just before a crash arrived. What makes
the repeat harmless is that every attempt of a delivery carries the same idempotency key: for
email a Message-ID made from the delivery's id, which receivers (and the development mail
sink) use to drop a repeat; the SMS channel passes its own key. A delivery is never lost: it
is retried until it is sent or, after the max age, dead and visible.
"""

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from uuid import UUID, uuid4

from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notification.inapp.domain import in_app_feed_of
from services.notification.inapp.service import record_in_app
from services.notification.notifications.domain import (
    CLAIMABLE_STATES,
    DeliveryFailed,
    NotificationDraft,
    NotificationKind,
    OutgoingMessage,
    RetrySchedule,
    Sender,
    storable,
)
from services.notification.notifications.metrics import DeliveryMetrics
from services.notification.notifications.models import Delivery, Notification
from services.notification.preferences.domain import TRANSACTIONAL, UnsubscribeLinks, Unsubscription
from services.notification.preferences.service import routing_for
from services.notification.sms.domain import fit_body
from services.notification.sms.phones import InvalidPhoneNumber, to_e164
from shared.clock import Clock
from shared.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

ERROR_LIMIT = 1000


@dataclass(frozen=True)
class Addressing:
    """How every recorded notification is addressed: the domain of its Message-IDs, the region
    a phone number typed without its country code is read in, and its unsubscribe links."""

    message_id_domain: str
    sms_default_region: str
    unsubscribe_links: UnsubscribeLinks


async def record_notification(
    session: AsyncSession,
    *,
    source_event_id: UUID,
    draft: NotificationDraft,
    now: datetime,
    addressing: Addressing,
    redis: Redis,
) -> bool:
    """Write the notification and its deliveries in the caller's transaction; False (and
    nothing written) if this event already told this recipient this. The email of a kind that
    is not transactional, to a recipient with an account, carries a one-click unsubscribe link
    (RFC 8058) that switches that kind's email off. An SMS goes beside the
    email when the kind has a text for it and the recipient's phone is a number (read in
    the addressing's default region when typed without its country code). An in-app one is pushed live
    (through `redis`) once the transaction commits. A channel the recipient switched off gets
    no delivery (a transactional email always goes); an SMS in their quiet hours waits for the
    end (`preferences/`)."""
    draft = replace(
        draft,
        title=storable(draft.title),
        facts=storable(draft.facts),
        recipient=replace(draft.recipient, phone=storable(draft.recipient.phone)),
    )
    recipient = draft.recipient
    notification_id = await session.scalar(
        insert(Notification)
        .values(
            id=uuid4(),
            kind=draft.kind.value,
            source_event_id=source_event_id,
            recipient_key=recipient.key,
            recipient_user_id=recipient.user_id,
            recipient_email=recipient.email,
            recipient_phone=recipient.phone,
            locale=recipient.locale,
            timezone=recipient.timezone,
            subject_type=draft.subject_type,
            subject_id=draft.subject_id,
            title=draft.title,
            facts=draft.facts,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["source_event_id", "kind", "recipient_key"])
        .returning(Notification.id)
    )
    if notification_id is None:
        return False
    routing = await routing_for(session, kind=draft.kind, user_id=recipient.user_id, now=now)
    if "email" in routing.channels:
        if recipient.user_id is not None and not TRANSACTIONAL[draft.kind]:
            link = addressing.unsubscribe_links.link(Unsubscription(recipient.user_id, draft.kind, "email"))
            with_list_unsubscribe(draft.email, link)
        _add_email_delivery(session, notification_id, draft, now=now, message_id_domain=addressing.message_id_domain)
    if draft.sms is not None and recipient.phone and "sms" in routing.channels:
        _add_sms_delivery(
            session,
            notification_id,
            draft.kind,
            text=draft.sms,
            phone=recipient.phone,
            now=now,
            due_at=routing.sms_due_at,
            default_region=addressing.sms_default_region,
        )
    if "in_app" in routing.channels and (feed_user_id := in_app_feed_of(draft)) is not None:
        record_in_app(session, notification_id=notification_id, user_id=feed_user_id, draft=draft, now=now, redis=redis)
    return True


def with_list_unsubscribe(message: EmailMessage, link: str) -> None:
    """The headers of a one-click unsubscribe (RFC 8058): a mail client POSTs
    `List-Unsubscribe=One-Click` to the link, no page in between."""
    del message["List-Unsubscribe"]
    del message["List-Unsubscribe-Post"]
    message["List-Unsubscribe"] = f"<{link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"


async def known_phone(session: AsyncSession, user_id: UUID) -> str | None:
    """The phone number the account's owner last gave (with a booking this service told them
    of), for an SMS about an event that carries none; None when they never gave one."""
    phone: str | None = await session.scalar(
        select(Notification.recipient_phone)
        .where(Notification.recipient_user_id == user_id, Notification.recipient_phone.is_not(None))
        .order_by(Notification.created_at.desc())
        .limit(1)
    )
    return phone


def _add_email_delivery(
    session: AsyncSession, notification_id: UUID, draft: NotificationDraft, *, now: datetime, message_id_domain: str
) -> None:
    delivery_id = uuid4()
    message_id = f"<{delivery_id}@{message_id_domain}>"
    message = draft.email
    del message["Message-ID"]
    message["Message-ID"] = message_id
    session.add(
        Delivery(
            id=delivery_id,
            notification_id=notification_id,
            channel="email",
            # The recipient as the message's one-line To header has it: never raw event text.
            address=str(message["To"]),
            content=message.as_bytes(),
            idempotency_key=message_id,
            state="pending",
            attempts=0,
            queued_at=now,
            next_attempt_at=now,
        )
    )


def _add_sms_delivery(
    session: AsyncSession,
    notification_id: UUID,
    kind: NotificationKind,
    *,
    text: str,
    phone: str,
    now: datetime,
    due_at: datetime,
    default_region: str,
) -> None:
    try:
        number = to_e164(phone, default_region=default_region)
    except InvalidPhoneNumber as error:
        # A typo in a contact form costs the SMS only: the email (and in-app) still go.
        logger.warning("%s notification %s: no SMS, %s", kind.value, notification_id, error)
        return
    delivery_id = uuid4()
    session.add(
        Delivery(
            id=delivery_id,
            notification_id=notification_id,
            channel="sms",
            address=number,
            content=fit_body(text).encode(),
            # Twilio takes no idempotency key: a repeat is found by looking the message up (see
            # `SmsChannel`); the key names the delivery in logs and records.
            idempotency_key=f"sms-{delivery_id}",
            state="pending",
            attempts=0,
            queued_at=now,
            # Later than `now` in the recipient's quiet hours: held until they end.
            next_attempt_at=due_at,
        )
    )


@dataclass(frozen=True)
class Claim:
    """A delivery this worker holds the lease of, until it records the outcome."""

    lease_token: UUID
    attempts: int
    queued_at: datetime
    kind: str
    message: OutgoingMessage


@dataclass(frozen=True)
class DeliveryPolicy:
    schedule: RetrySchedule
    lease: timedelta
    batch_size: int


async def claim_due_deliveries(
    session_factory: async_sessionmaker[AsyncSession], *, now: datetime, lease: timedelta, limit: int
) -> list[Claim]:
    """Take up to `limit` due deliveries (and those whose worker's lease ran out) for this worker."""
    async with session_factory() as session, session.begin():
        rows = (
            await session.execute(
                select(Delivery, Notification.kind)
                .join(Notification, Notification.id == Delivery.notification_id)
                .where(Delivery.state.in_(CLAIMABLE_STATES), Delivery.next_attempt_at <= now)
                .order_by(Delivery.next_attempt_at)
                .limit(limit)
                .with_for_update(of=Delivery, skip_locked=True)
            )
        ).all()
        claims = []
        for delivery, kind in rows:
            delivery.state = "sending"
            delivery.attempts += 1
            delivery.next_attempt_at = now + lease
            delivery.lease_token = uuid4()
            claims.append(
                Claim(
                    lease_token=delivery.lease_token,
                    attempts=delivery.attempts,
                    queued_at=delivery.queued_at,
                    kind=kind,
                    message=OutgoingMessage(
                        delivery_id=delivery.id,
                        channel=delivery.channel,  # type: ignore[arg-type]  # written from Channel only
                        address=delivery.address,
                        content=delivery.content,
                        idempotency_key=delivery.idempotency_key,
                        attempts=delivery.attempts,
                        queued_at=delivery.queued_at,
                    ),
                )
            )
    return claims


async def deliver_due(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    senders: Mapping[str, Sender],
    clock: Clock,
    policy: DeliveryPolicy,
    metrics: DeliveryMetrics,
    rng: random.Random,
) -> int:
    """Claim a batch of due deliveries, send each, record each outcome; how many were claimed."""
    claims = await claim_due_deliveries(session_factory, now=clock.now(), lease=policy.lease, limit=policy.batch_size)

    async def deliver(claim: Claim) -> None:
        sender = senders.get(claim.message.channel)
        try:
            if sender is None:
                raise DeliveryFailed(f"no sender for the {claim.message.channel} channel")
            provider_message_id = await sender.send(claim.message)
        except Exception as error:
            await record_failure(
                session_factory,
                claim=claim,
                error=error,
                clock=clock,
                schedule=policy.schedule,
                metrics=metrics,
                rng=rng,
            )
        else:
            await record_sent(session_factory, claim=claim, provider_message_id=provider_message_id, clock=clock)
            metrics.attempts.labels(claim.message.channel, "sent").inc()

    await asyncio.gather(*(deliver(claim) for claim in claims))
    return len(claims)


async def record_sent(
    session_factory: async_sessionmaker[AsyncSession], *, claim: Claim, provider_message_id: str, clock: Clock
) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Delivery)
            .where(Delivery.id == claim.message.delivery_id, Delivery.lease_token == claim.lease_token)
            .values(
                state="sent",
                sent_at=clock.now(),
                next_attempt_at=None,
                lease_token=None,
                provider_message_id=provider_message_id,
            )
        )
    logger.info("sent %s %s delivery %s", claim.kind, claim.message.channel, claim.message.delivery_id)


async def record_failure(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    claim: Claim,
    error: Exception,
    clock: Clock,
    schedule: RetrySchedule,
    metrics: DeliveryMetrics,
    rng: random.Random,
) -> None:
    now = clock.now()
    permanent = isinstance(error, DeliveryFailed) and error.permanent
    dead = permanent or schedule.gives_up(queued_at=claim.queued_at, failed_at=now)
    reason = (str(error) or repr(error))[:ERROR_LIMIT]
    async with session_factory() as session, session.begin():
        recorded = await session.scalar(
            update(Delivery)
            .where(Delivery.id == claim.message.delivery_id, Delivery.lease_token == claim.lease_token)
            .values(
                state="dead" if dead else "failed_retrying",
                next_attempt_at=None if dead else now + schedule.delay(claim.attempts, rng),
                lease_token=None,
                last_error=reason,
            )
            .returning(Delivery.id)
        )
    if recorded is None:
        return  # the lease ran out and another worker holds the delivery now: its outcome counts
    metrics.attempts.labels(claim.message.channel, "failed").inc()
    if dead:
        metrics.dead.labels(claim.message.channel, claim.kind).inc()
        logger.error(
            "%s %s delivery %s is dead after %d attempts: %s",
            claim.kind,
            claim.message.channel,
            claim.message.delivery_id,
            claim.attempts,
            reason,
        )
    else:
        logger.warning(
            "%s %s delivery %s failed (attempt %d), tried again later: %s",
            claim.kind,
            claim.message.channel,
            claim.message.delivery_id,
            claim.attempts,
            reason,
        )


async def give_up_on_provider_report(
    session: AsyncSession, *, channel: str, provider_message_id: str, reason: str
) -> str | None:
    """A sent delivery the provider later reports it could not deliver (an SMS `undelivered`
    or `failed`) is dead with the provider's reason, for an admin to see and resend; answers
    the notification's kind when a delivery was so marked, in the caller's transaction."""
    delivery = await session.scalar(
        select(Delivery)
        .where(Delivery.channel == channel, Delivery.provider_message_id == provider_message_id)
        .with_for_update()
    )
    if delivery is None or delivery.state != "sent":
        return None
    delivery.state = "dead"
    delivery.last_error = reason[:ERROR_LIMIT]
    notification = await session.get_one(Notification, delivery.notification_id)
    logger.error("%s %s delivery %s is dead: %s", notification.kind, channel, delivery.id, reason)
    return notification.kind


async def resend_dead_delivery(session: AsyncSession, *, delivery_id: UUID, now: datetime) -> Delivery:
    """Queue a dead delivery again, due now, with a new retry window."""
    async with session.begin():
        delivery = await session.get(Delivery, delivery_id, with_for_update=True)
        if delivery is None:
            raise NotFound("No such delivery.")
        if delivery.state != "dead":
            raise Conflict("Only a dead delivery is resent.", details={"state": delivery.state})
        delivery.state = "pending"
        delivery.attempts = 0
        delivery.queued_at = now
        delivery.next_attempt_at = now
    return delivery
