"""Analytics' funnel consumer driven as Kafka would drive it, and the events it reads, built
as inventory and booking write them."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.analytics.funnel.models import FunnelBooking, FunnelDay, FunnelListing, FunnelRequest
from services.analytics.funnel.schemas import Conversion
from services.analytics.funnel.service import FUNNEL_EVENTS, GroupBy, conversion
from shared.contracts.booking import (
    BookingConfirmed,
    BookingCreated,
    BookingPaymentReceived,
    BookingRequestAccepted,
    BookingRequestCounterAccepted,
    BookingRequestCountered,
    BookingRequestCreated,
    BookingRequestDeclined,
    BookingRequestExpired,
)
from shared.contracts.inventory import HoldPlaced, ListingViewsCounted
from shared.events.consumer import EventConsumer
from shared.events.envelope import EventEnvelope, EventPayload
from shared.events.models import InboxMessage
from shared.identity import Identity
from shared.testing import consumer_record


class FunnelEvents:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], consumer: EventConsumer) -> None:
        self.sessions = sessions
        self._consumer = consumer
        self._offset = 0

    async def consume(self, *envelopes: EventEnvelope) -> None:
        """Hand each envelope to the consumer; a handled type must be applied or seen before."""
        for envelope in envelopes:
            self._offset += 1
            await self._consumer.handle_record(consumer_record(envelope, self._offset))
            if FUNNEL_EVENTS.route(envelope) is None:
                continue
            async with self.sessions() as session:
                applied = await session.scalar(
                    select(InboxMessage.event_id).where(
                        InboxMessage.consumer == FUNNEL_EVENTS.name, InboxMessage.event_id == envelope.event_id
                    )
                )
            assert applied == envelope.event_id, f"{envelope.type} was not applied (dead-lettered)"

    async def report(
        self,
        viewer: Identity,
        *,
        start: date,
        end: date | None = None,
        group_by: GroupBy | None = None,
        provider_id: uuid.UUID | None = None,
        listing_id: uuid.UUID | None = None,
    ) -> Conversion:
        async with self.sessions() as session:
            return await conversion(
                session,
                viewer=viewer,
                start=start,
                end=end or start,
                group_by=group_by,
                provider_id=provider_id,
                listing_id=listing_id,
            )

    async def forget_everything(self) -> None:
        """An empty funnel, as before a replay from offset 0."""
        async with self.sessions.begin() as session:
            await session.execute(delete(InboxMessage).where(InboxMessage.consumer == FUNNEL_EVENTS.name))
            for table in (FunnelDay, FunnelListing, FunnelBooking, FunnelRequest):
                await session.execute(delete(table))


@dataclass(frozen=True)
class Listing:
    provider_id: uuid.UUID = field(default_factory=uuid.uuid4)
    listing_id: uuid.UUID = field(default_factory=uuid.uuid4)


def _wrap(event: BookingCreated | BookingPaymentReceived | BookingConfirmed, at: datetime) -> EventEnvelope:
    return EventEnvelope.wrap(event, producer="booking", key=str(event.booking_id), occurred_at=at)


def views(listing: Listing, *, hour: datetime, count: int) -> EventEnvelope:
    event = ListingViewsCounted(
        listing_id=listing.listing_id, provider_id=listing.provider_id, hour_start=hour, views=count
    )
    return EventEnvelope.wrap(event, producer="inventory", key=str(listing.listing_id), occurred_at=hour)


def hold(listing: Listing, *, at: datetime, with_provider: bool = True) -> EventEnvelope:
    event = HoldPlaced(
        hold_id=uuid.uuid4(),
        slot_id=uuid.uuid4(),
        listing_id=listing.listing_id,
        holder_id=uuid.uuid4(),
        seats=2,
        expires_at=at + timedelta(minutes=15),
        total="80.00",
        currency="EUR",
        provider_id=listing.provider_id if with_provider else None,
    )
    return EventEnvelope.wrap(event, producer="inventory", key=str(event.slot_id), occurred_at=at)


def booked(listing: Listing, *, at: datetime, booking_id: uuid.UUID | None = None) -> EventEnvelope:
    event = BookingCreated(
        booking_id=booking_id or uuid.uuid4(),
        reference="TRV-2031-FUNNEL",
        traveler_id=uuid.uuid4(),
        provider_id=listing.provider_id,
        listing_id=listing.listing_id,
        slot_id=uuid.uuid4(),
        hold_id=uuid.uuid4(),
        seats=2,
        total=Decimal("80.00"),
        currency="EUR",
    )
    return _wrap(event, at)


def paid(booking: EventEnvelope, *, at: datetime) -> EventEnvelope:
    created = BookingCreated.model_validate(booking.payload)
    event = BookingPaymentReceived(
        booking_id=created.booking_id, hold_id=created.hold_id, slot_id=created.slot_id, seats=created.seats
    )
    return _wrap(event, at)


def confirmed(booking: EventEnvelope, *, at: datetime) -> EventEnvelope:
    created = BookingCreated.model_validate(booking.payload)
    event = BookingConfirmed(
        booking_id=created.booking_id,
        reference=created.reference,
        traveler_id=created.traveler_id,
        provider_id=created.provider_id,
        listing_id=created.listing_id,
        listing_title="Harbour walk",
        category="tour",
        slot_id=created.slot_id,
        starts_at=at + timedelta(days=20),
        ends_at=at + timedelta(days=20, hours=2),
        timezone="Europe/Lisbon",
        seats=created.seats,
        total=created.total,
        platform_fee=Decimal(0),
        currency="EUR",
        contact_name="Ana",
        contact_email="ana@example.com",
        confirmed_at=at,
    )
    return _wrap(event, at + timedelta(seconds=1))


@dataclass(frozen=True)
class Request:
    listing: Listing
    requested_at: datetime
    request_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def _facts(self) -> dict[str, object]:
        return {
            "request_id": self.request_id,
            "traveler_id": uuid.uuid4(),
            "provider_id": self.listing.provider_id,
            "provider_email": "provider@example.com",
            "listing_id": self.listing.listing_id,
            "listing_title": "Harbour dinner",
            "slot_id": uuid.uuid4(),
            "starts_at": self.requested_at + timedelta(days=10),
            "timezone": "Europe/Lisbon",
            "seats": 2,
            "contact_name": "Ana",
            "contact_email": "ana@example.com",
            "requested_at": self.requested_at,
        }

    def _wrap(self, event: EventPayload, at: datetime) -> EventEnvelope:
        return EventEnvelope.wrap(event, producer="booking", key=str(self.request_id), occurred_at=at)

    def created(self) -> EventEnvelope:
        event = BookingRequestCreated(
            **self._facts(),
            adults=2,
            children=0,
            infants=0,
            message=None,
            estimated_total=Decimal("80.00"),
            currency="EUR",
            expires_at=self.requested_at + timedelta(hours=48),
        )
        return self._wrap(event, self.requested_at)

    def _to_pay(self, responded_at: datetime) -> dict[str, object]:
        return self._facts() | {
            "booking_id": uuid.uuid4(),
            "reference": "TRV-2031-ASKED",
            "booking_starts_at": self.requested_at + timedelta(days=10),
            "total": Decimal("80.00"),
            "currency": "EUR",
            "pay_by": responded_at + timedelta(hours=24),
            "responded_at": responded_at,
        }

    def accepted(self, *, after: timedelta) -> EventEnvelope:
        at = self.requested_at + after
        event = BookingRequestAccepted(**self._to_pay(at))
        return EventEnvelope.wrap(event, producer="booking", key=str(self.request_id), occurred_at=at)

    def declined(self, *, after: timedelta) -> EventEnvelope:
        at = self.requested_at + after
        event = BookingRequestDeclined(
            **self._facts(),
            reason="Full that day.",
            alternatives=[],
            currency="EUR",
            responded_at=at,
        )
        return self._wrap(event, at)

    def countered(self, *, after: timedelta) -> EventEnvelope:
        at = self.requested_at + after
        event = BookingRequestCountered(
            **self._facts(),
            counter_slot_id=uuid.uuid4(),
            counter_starts_at=self.requested_at + timedelta(days=11),
            counter_price=None,
            currency="EUR",
            counter_message="The next day?",
            expires_at=at + timedelta(hours=24),
            responded_at=at,
        )
        return self._wrap(event, at)

    def counter_accepted(self, *, countered_after: timedelta, accepted_after: timedelta) -> EventEnvelope:
        at = self.requested_at + accepted_after
        event = BookingRequestCounterAccepted(
            **self._to_pay(self.requested_at + countered_after),
            counter_accepted_at=at,
        )
        return EventEnvelope.wrap(event, producer="booking", key=str(self.request_id), occurred_at=at)

    def expired(self, *, after: timedelta) -> EventEnvelope:
        at = self.requested_at + after
        event = BookingRequestExpired(**self._facts(), expired_at=at)
        return EventEnvelope.wrap(event, producer="booking", key=str(self.request_id), occurred_at=at)
