"""The webhook fan-out: every booking and inventory event a webhook is sent for becomes one
delivery per subscription that wants it, in the transaction of its inbox row (so an event the
broker hands over twice is delivered once)."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.webhooks.service import record_deliveries
from shared.clock import Clock
from shared.contracts.booking import (
    BookingCancelled,
    BookingConfirmed,
    BookingCreated,
    BookingModified,
    BookingRequestAccepted,
    BookingRequestCounterAccepted,
    BookingRequestCountered,
    BookingRequestCreated,
    BookingRequestDeclined,
)
from shared.contracts.inventory import (
    HoldExpired,
    HoldPlaced,
    HoldReleased,
    SeatsConfirmed,
    SeatsReturned,
    SlotsBlackedOut,
)
from shared.events.consumer import ConsumerSpec, EventHandler, HandlerKey
from shared.events.envelope import EventEnvelope, EventPayload, topic_for

# Each is in `domain.KINDS`, which says what webhook it becomes.
SENT_AS_WEBHOOKS: tuple[type[EventPayload], ...] = (
    BookingCreated,
    BookingConfirmed,
    BookingCancelled,
    BookingModified,
    BookingRequestCreated,
    BookingRequestAccepted,
    BookingRequestCounterAccepted,
    BookingRequestDeclined,
    BookingRequestCountered,
    HoldPlaced,
    HoldReleased,
    HoldExpired,
    SeatsConfirmed,
    SeatsReturned,
    SlotsBlackedOut,
)


def webhooks_consumer(clock: Clock) -> ConsumerSpec:
    async def fan_out(session: AsyncSession, envelope: EventEnvelope) -> None:
        await record_deliveries(session, envelope, now=clock.now())

    handlers: dict[HandlerKey, EventHandler] = {
        (event.event_type, event.event_version): fan_out for event in SENT_AS_WEBHOOKS
    }
    return ConsumerSpec(
        name="booking.webhooks",
        topics=(topic_for("booking"), topic_for("inventory")),
        handlers=handlers,
    )
