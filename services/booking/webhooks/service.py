"""Webhook subscriptions (create, list, delete), their delivery log and redelivery, and the
fan-out that turns each platform event into one delivery per subscription that wants it.

A provider's subscription gets the events about their own listings and bookings; an admin's
gets every event. Booking and request events name their provider. Inventory's events mostly do
not: the provider is found through booking's own bookings and requests (by the event's booking,
else its listing); an availability change of a listing booking has never seen a booking or a
request for, or of every listing (an admin's blackout), goes to admins' subscriptions only.
Events are recorded for active subscriptions only: a disabled one misses what happens until
its owner resumes it with a redelivery.
"""

import asyncio
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.bookings.models import Booking
from services.booking.requests.models import BookingRequest
from services.booking.webhooks.domain import UnsafeTarget, refuse_private, target_host, webhook_data
from services.booking.webhooks.models import WebhookDelivery, WebhookSubscription
from services.booking.webhooks.schemas import (
    DeliveryOut,
    DeliveryPage,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
    SubscriptionPage,
)
from services.booking.webhooks.sealing import SecretBox
from shared.clock import Clock
from shared.contracts.webhooks import WebhookEvent
from shared.errors import InvalidInput, NotFound
from shared.events.envelope import EventEnvelope, payload_class
from shared.identity import Identity

# A host name → the addresses it resolves to.
Resolve = Callable[[str], Awaitable[list[str]]]

ACTIVE, DISABLED, DELETED = "active", "disabled", "deleted"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


async def resolve_host(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def check_target(url: str, *, allow_private: bool, resolve: Resolve = resolve_host) -> None:
    """Raise UnsafeTarget unless booking may call `url`: a well-formed http(s) URL whose host
    resolves to public addresses only (any host when private targets are allowed). Checked
    just before each send too; a name that resolves elsewhere between this lookup and the
    HTTP client's own (DNS rebinding within seconds) is not caught: pinning the checked
    address in the connection would close that."""
    host = target_host(url)
    if allow_private:
        return
    try:
        addresses = await resolve(host)
    except OSError as error:
        raise UnsafeTarget(f"the host does not resolve: {error}") from None
    refuse_private(addresses)


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def _subscription_out(subscription: WebhookSubscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=subscription.id,
        url=subscription.url,
        events=subscription.events,
        description=subscription.description,
        status=subscription.status,
        failed_deliveries=subscription.failed_deliveries,
        failing_since=subscription.failing_since,
        disabled_at=subscription.disabled_at,
        created_at=subscription.created_at,
    )


async def create_subscription(
    session: AsyncSession,
    *,
    caller: Identity,
    body: SubscriptionCreate,
    clock: Clock,
    allow_private: bool,
    secrets_box: SecretBox,
    resolve: Resolve = resolve_host,
) -> SubscriptionCreated:
    """Subscribe an endpoint of the caller's; its signing secret is in this answer only."""
    try:
        await check_target(body.url, allow_private=allow_private, resolve=resolve)
    except UnsafeTarget as error:
        raise InvalidInput(
            f"Webhooks are not sent to this URL: {error}.",
            details={"fields": [{"field": "body.url", "message": str(error), "type": "unsafe_target"}]},
        ) from None
    secret = new_secret()
    subscription = WebhookSubscription(
        id=uuid4(),
        owner_id=caller.user_id,
        owner_is_admin=caller.is_admin,
        url=body.url,
        events=list(body.events),
        description=body.description,
        sealed_secret=secrets_box.seal(secret),
        status=ACTIVE,
        failed_deliveries=0,
        created_at=clock.now(),
    )
    session.add(subscription)
    await session.commit()
    return SubscriptionCreated(**_subscription_out(subscription).model_dump(), secret=secret)


async def list_subscriptions(session: AsyncSession, *, caller: Identity) -> SubscriptionPage:
    found = await session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.owner_id == caller.user_id, WebhookSubscription.status != DELETED)
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    )
    return SubscriptionPage(items=[_subscription_out(subscription) for subscription in found])


async def _own_subscription(
    session: AsyncSession, *, caller: Identity, subscription_id: UUID, for_update: bool = False
) -> WebhookSubscription:
    query = select(WebhookSubscription).where(
        WebhookSubscription.id == subscription_id,
        WebhookSubscription.owner_id == caller.user_id,
        WebhookSubscription.status != DELETED,
    )
    subscription = await session.scalar(query.with_for_update() if for_update else query)
    if subscription is None:
        raise NotFound("No such webhook subscription.")
    return subscription


async def delete_subscription(session: AsyncSession, *, caller: Identity, subscription_id: UUID) -> None:
    """Stop sending to the endpoint; what was not delivered yet is not sent."""
    subscription = await _own_subscription(session, caller=caller, subscription_id=subscription_id, for_update=True)
    subscription.status = DELETED
    await session.commit()


def _delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        subscription_id=delivery.subscription_id,
        event_id=delivery.event_id,
        kind=delivery.kind,
        status=delivery.status,
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
    )


async def list_deliveries(
    session: AsyncSession, *, caller: Identity, subscription_id: UUID, limit: int, cursor: int | None
) -> DeliveryPage:
    """The subscription's deliveries, newest first; `cursor` continues an earlier page."""
    await _own_subscription(session, caller=caller, subscription_id=subscription_id)
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if cursor is not None:
        query = query.where(WebhookDelivery.sequence < cursor)
    found = list(await session.scalars(query.order_by(WebhookDelivery.sequence.desc()).limit(limit + 1)))
    page = found[:limit]
    return DeliveryPage(
        items=[_delivery_out(delivery) for delivery in page],
        next_cursor=str(page[-1].sequence) if len(found) > limit else None,
    )


async def redeliver(session: AsyncSession, *, caller: Identity, delivery_id: UUID, clock: Clock) -> DeliveryOut:
    """Send a delivery again now, with a fresh retry window; a subscription disabled for
    failing is resumed by it (its owner says the endpoint works again)."""
    delivery = await session.scalar(
        select(WebhookDelivery)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookSubscription.owner_id == caller.user_id,
            WebhookSubscription.status != DELETED,
        )
        .with_for_update()
    )
    if delivery is None:
        raise NotFound("No such webhook delivery.")
    subscription = await _own_subscription(
        session, caller=caller, subscription_id=delivery.subscription_id, for_update=True
    )
    if subscription.status == DISABLED:
        subscription.status = ACTIVE
        subscription.failed_deliveries = 0
        subscription.failing_since = None
        subscription.disabled_at = None
    delivery.status = PENDING
    delivery.next_attempt_at = clock.now()
    delivery.retry_from = None
    delivery.delivered_at = None
    out = _delivery_out(delivery)
    await session.commit()
    return out


async def _provider_of(session: AsyncSession, payload: dict[str, Any]) -> UUID | None:
    """The provider an event is about: named in it, else found through booking's bookings and
    requests; None if booking does not know."""
    if payload.get("provider_id"):
        return UUID(str(payload["provider_id"]))
    if payload.get("booking_id"):
        found = await session.scalar(select(Booking.provider_id).where(Booking.id == UUID(str(payload["booking_id"]))))
        if found is not None:
            return found
    if payload.get("listing_id"):
        listing_id = UUID(str(payload["listing_id"]))
        found = await session.scalar(select(Booking.provider_id).where(Booking.listing_id == listing_id).limit(1))
        if found is None:
            found = await session.scalar(
                select(BookingRequest.provider_id).where(BookingRequest.listing_id == listing_id).limit(1)
            )
        return found
    return None


async def record_deliveries(session: AsyncSession, envelope: EventEnvelope, *, now: datetime) -> int:
    """One pending delivery of the event per active subscription that wants it, in the
    transaction of the event's inbox row; an event seen again adds none. The number added."""
    # Read through its contract, so `data` has the contract's fields of the event's version.
    payload = payload_class(envelope.type, envelope.version).model_validate(envelope.payload).model_dump(mode="json")
    kind, data = webhook_data(envelope.type, payload)
    provider_id = await _provider_of(session, payload)
    audience: list[ColumnElement[bool]] = [WebhookSubscription.owner_is_admin.is_(True)]
    if provider_id is not None:
        audience.append(WebhookSubscription.owner_id == provider_id)
    subscription_ids = list(
        await session.scalars(
            select(WebhookSubscription.id).where(
                WebhookSubscription.status == ACTIVE,
                WebhookSubscription.events.contains([kind]),
                or_(*audience),
            )
        )
    )
    if not subscription_ids:
        return 0
    body = WebhookEvent(
        id=envelope.event_id, type=kind, version=envelope.version, created_at=envelope.occurred_at, data=data
    ).model_dump_json()
    added = await session.scalars(
        insert(WebhookDelivery)
        .values(
            [
                {
                    "id": uuid4(),
                    "subscription_id": subscription_id,
                    "event_id": envelope.event_id,
                    "kind": kind,
                    "ordering_key": envelope.key[:200],
                    "body": body,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for subscription_id in subscription_ids
            ]
        )
        .on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
        .returning(WebhookDelivery.id)
    )
    return len(added.all())
