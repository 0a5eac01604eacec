"""What booking does when inventory blacks out slots: their bookings are cancelled by the
provider, and requests still waiting for the provider on them are declined."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.cancellations.service import blackout_reason, cancel_blacked_out_bookings
from services.booking.requests.service import decline_requests_on_slots
from services.booking.settings import BookingSettings
from shared.clock import Clock
from shared.contracts.inventory import SlotsBlackedOut
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for


def blackouts_consumer(settings: BookingSettings, clock: Clock) -> ConsumerSpec:
    async def on_slots_blacked_out(session: AsyncSession, blackout: SlotsBlackedOut) -> None:
        now = clock.now()
        await cancel_blacked_out_bookings(session, blackout=blackout, settings=settings, now=now)
        await decline_requests_on_slots(
            session, slot_ids=blackout.slots_closed, reason=blackout_reason(blackout.reason), now=now
        )

    return ConsumerSpec(
        name="booking.blackouts",
        topics=(topic_for("inventory"),),
        handlers=dict([handles(SlotsBlackedOut, on_slots_blacked_out)]),
    )
