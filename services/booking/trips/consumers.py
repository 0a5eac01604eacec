"""Trips on booking's own events: an item shows the live status of the booking or request it
made, and a trip its status, re-read from the rows each event is about (so a repeated or
late event changes nothing wrong)."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.trips.service import sync_booking, sync_request, sync_trip_of_handoff
from shared.clock import Clock
from shared.contracts.booking import (
    BookingCancelled,
    BookingCompleted,
    BookingConfirmed,
    BookingCreated,
    BookingExpired,
    BookingModified,
    BookingNoShow,
    BookingPaymentFailed,
    BookingRequestAccepted,
    BookingRequestCancelled,
    BookingRequestCounterAccepted,
    BookingRequestCountered,
    BookingRequestCounterLapsed,
    BookingRequestCreated,
    BookingRequestDeclined,
    BookingRequestExpired,
    HandoffAccepted,
    HandoffApproved,
    HandoffCancelled,
    HandoffCompleted,
    HandoffDeclined,
)
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for

BookingMoved = (
    BookingCreated
    | BookingConfirmed
    | BookingExpired
    | BookingPaymentFailed
    | BookingCancelled
    | BookingCompleted
    | BookingNoShow
    | BookingModified
)
RequestMoved = (
    BookingRequestCreated
    | BookingRequestAccepted
    | BookingRequestCounterAccepted
    | BookingRequestDeclined
    | BookingRequestCountered
    | BookingRequestExpired
    | BookingRequestCounterLapsed
    | BookingRequestCancelled
)
HandoffMoved = HandoffAccepted | HandoffCompleted | HandoffApproved | HandoffDeclined | HandoffCancelled


def trips_consumer(clock: Clock) -> ConsumerSpec:
    async def on_booking(session: AsyncSession, event: BookingMoved) -> None:
        await sync_booking(session, booking_id=event.booking_id, now=clock.now())

    async def on_request(session: AsyncSession, event: RequestMoved) -> None:
        await sync_request(session, request_id=event.request_id, now=clock.now())

    async def on_handoff(session: AsyncSession, event: HandoffMoved) -> None:
        await sync_trip_of_handoff(session, handoff_id=event.handoff_id, now=clock.now())

    booking_events: tuple[type[BookingMoved], ...] = (
        BookingCreated,
        BookingConfirmed,
        BookingExpired,
        BookingPaymentFailed,
        BookingCancelled,
        BookingCompleted,
        BookingNoShow,
        BookingModified,
    )
    request_events: tuple[type[RequestMoved], ...] = (
        BookingRequestCreated,
        BookingRequestAccepted,
        BookingRequestCounterAccepted,
        BookingRequestDeclined,
        BookingRequestCountered,
        BookingRequestExpired,
        BookingRequestCounterLapsed,
        BookingRequestCancelled,
    )
    handoff_events: tuple[type[HandoffMoved], ...] = (
        HandoffAccepted,
        HandoffCompleted,
        HandoffApproved,
        HandoffDeclined,
        HandoffCancelled,
    )
    return ConsumerSpec(
        name="booking.trips",
        topics=(topic_for("booking"),),
        handlers=dict(
            [handles(event, on_booking) for event in booking_events]
            + [handles(event, on_request) for event in request_events]
            + [handles(event, on_handoff) for event in handoff_events]
        ),
    )
