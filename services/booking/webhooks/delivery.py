"""Sending due webhook deliveries: claim, POST signed, record the answer.

A batch of due deliveries is claimed in one short transaction (`FOR UPDATE SKIP LOCKED`, so
replicas share the work) by pushing their next attempt out by a lease: a replica that dies
mid-send leaves them to be tried again after it, never lost. Only the earliest pending delivery
of a subscription and ordering key (the event's booking, request or slot) is ever claimed, so an
endpoint never hears of a booking's later event before an earlier one was delivered or given
up. The requests are made outside any transaction; each answer is recorded in its own.
"""

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import httpx
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from services.booking.bookings.service import PRODUCER
from services.booking.webhooks.domain import (
    ID_HEADER,
    SIGNATURE_HEADER,
    DisablePolicy,
    RetryPolicy,
    UnsafeTarget,
    signature_header,
)
from services.booking.webhooks.models import WebhookDelivery, WebhookSubscription
from services.booking.webhooks.sealing import SealedSecretUnreadable, SecretBox
from services.booking.webhooks.service import (
    ACTIVE,
    DELIVERED,
    DISABLED,
    FAILED,
    PENDING,
    Resolve,
    check_target,
    resolve_host,
)
from shared.clock import Clock
from shared.contracts.webhooks import WebhookSubscriptionDisabled
from shared.events.outbox import add_event

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
USER_AGENT = "travel-booking-webhooks/1"


@dataclass(frozen=True)
class WebhookMetrics:
    deliveries: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> "WebhookMetrics":
        return cls(
            deliveries=Counter(
                "webhook_delivery_attempts_total",
                "Webhook delivery attempts, by outcome (delivered, retrying, failed).",
                ["outcome"],
                registry=registry,
            )
        )


@dataclass(frozen=True)
class Sending:
    """What the delivery job needs besides the database."""

    http: httpx.AsyncClient
    clock: Clock
    retries: RetryPolicy
    disabling: DisablePolicy
    allow_private: bool
    timeout_seconds: float
    metrics: WebhookMetrics
    secrets_box: SecretBox
    resolve: Resolve = resolve_host
    # A uniform number in [0, 1) for each retry's jitter.
    draw: Callable[[], float] = random.random


@dataclass(frozen=True)
class Claimed:
    delivery_id: UUID
    event_id: UUID
    url: str
    secret: str
    body: str


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def _claim(session: AsyncSession, *, now: datetime, lease: timedelta, box: SecretBox) -> list[Claimed]:
    earlier = aliased(WebhookDelivery)
    due = (
        await session.execute(
            select(WebhookDelivery, WebhookSubscription.url, WebhookSubscription.sealed_secret)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(
                WebhookDelivery.status == PENDING,
                WebhookDelivery.next_attempt_at <= now,
                WebhookSubscription.status == ACTIVE,
                ~exists().where(
                    and_(
                        earlier.subscription_id == WebhookDelivery.subscription_id,
                        earlier.ordering_key == WebhookDelivery.ordering_key,
                        earlier.status == PENDING,
                        earlier.sequence < WebhookDelivery.sequence,
                    )
                ),
            )
            .order_by(WebhookDelivery.sequence)
            .limit(BATCH_SIZE)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
    ).all()
    claimed = []
    for delivery, url, sealed_secret in due:
        delivery.next_attempt_at = now + lease
        try:
            secret = box.open(sealed_secret)
        except SealedSecretUnreadable as error:
            # Not sent unsigned: it waits (a lease at a time) for the key it was sealed with.
            delivery.last_error = str(error)
            logger.error("webhook delivery %s not sent: %s", delivery.id, error)
            continue
        delivery.attempts += 1
        delivery.retry_from = delivery.retry_from or now
        claimed.append(Claimed(delivery.id, delivery.event_id, url, secret, delivery.body))
    return claimed


async def _post(claimed: Claimed, sending: Sending) -> Answer:
    try:
        await check_target(claimed.url, allow_private=sending.allow_private, resolve=sending.resolve)
    except UnsafeTarget as error:
        return Answer(None, f"target refused: {error}")
    body = claimed.body.encode()
    timestamp = int(sending.clock.now().timestamp())
    try:
        response = await sending.http.post(
            claimed.url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                ID_HEADER: str(claimed.event_id),
                SIGNATURE_HEADER: signature_header(claimed.secret, timestamp=timestamp, body=body),
            },
            timeout=sending.timeout_seconds,
            follow_redirects=False,
        )
    except httpx.HTTPError as error:
        return Answer(None, f"{type(error).__name__}: {error}"[:500])
    refused = None if 200 <= response.status_code < 300 else f"answered {response.status_code}"
    return Answer(response.status_code, refused)


async def _record(session: AsyncSession, claimed: Claimed, answer: Answer, sending: Sending) -> str:
    """Record one answer: delivered, to be retried, or failed; disable the subscription when
    its endpoint has failed long enough. The outcome."""
    now = sending.clock.now()
    delivery = await session.get(WebhookDelivery, claimed.delivery_id, with_for_update=True)
    if delivery is None or delivery.status != PENDING:
        return "skipped"
    subscription = await session.get(WebhookSubscription, delivery.subscription_id, with_for_update=True)
    assert subscription is not None
    delivery.last_status_code = answer.status_code
    delivery.last_error = answer.error
    if answer.delivered:
        delivery.status = DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        subscription.failed_deliveries = 0
        subscription.failing_since = None
        return DELIVERED
    subscription.failing_since = subscription.failing_since or now
    next_attempt = sending.retries.next_attempt(
        delivery.attempts, retry_from=delivery.retry_from or now, now=now, draw=sending.draw()
    )
    delivery.next_attempt_at = next_attempt
    outcome = "retrying"
    if next_attempt is None:
        delivery.status = FAILED
        subscription.failed_deliveries += 1
        outcome = FAILED
    if subscription.status == ACTIVE and sending.disabling.should_disable(
        failed_deliveries=subscription.failed_deliveries, failing_since=subscription.failing_since, now=now
    ):
        subscription.status = DISABLED
        subscription.disabled_at = now
        add_event(
            session,
            WebhookSubscriptionDisabled(
                subscription_id=subscription.id,
                owner_id=subscription.owner_id,
                url=subscription.url,
                reason=f"its endpoint kept failing (last: {answer.error})"[:500],
                failed_deliveries=subscription.failed_deliveries,
                failing_since=subscription.failing_since,
                disabled_at=now,
            ),
            producer=PRODUCER,
            key=str(subscription.id),
            occurred_at=now,
        )
        logger.warning("webhook subscription %s disabled: %s", subscription.id, answer.error)
    return outcome


async def deliver_due(session_factory: async_sessionmaker[AsyncSession], *, sending: Sending) -> int:
    """Send one batch of due deliveries; the number sent."""
    lease = timedelta(seconds=sending.timeout_seconds + 60)
    async with session_factory() as session, session.begin():
        claimed = await _claim(session, now=sending.clock.now(), lease=lease, box=sending.secrets_box)
    if not claimed:
        return 0
    answers = await asyncio.gather(*(_post(one, sending) for one in claimed))
    for one, answer in zip(claimed, answers, strict=True):
        async with session_factory() as session, session.begin():
            outcome = await _record(session, one, answer, sending)
        sending.metrics.deliveries.labels(outcome=outcome).inc()
    return len(claimed)
