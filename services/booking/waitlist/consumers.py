"""What the waitlist does on events: offer seats that came free, record the hold inventory
placed for an offer, lapse an offer whose hold ended, claim one a booking was made from."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.waitlist.service import claim_offer, lapse_offer, record_offer, request_offer, waiting_for
from shared.clock import Clock
from shared.contracts.booking import BookingCreated
from shared.contracts.inventory import HoldExpired, HoldReleased, SeatsReturned, WaitlistHoldPlaced
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for


def waitlist_consumer(*, claim_seconds: int, clock: Clock) -> ConsumerSpec:
    async def offer_freed_seats(session: AsyncSession, event: HoldReleased | HoldExpired | SeatsReturned) -> None:
        if isinstance(event, HoldReleased | HoldExpired):
            await lapse_offer(session, hold_id=event.hold_id)
        if event.local_date is None:
            return
        waiting = await waiting_for(session, listing_id=event.listing_id, local_date=event.local_date)
        request_offer(
            session,
            listing_id=event.listing_id,
            local_date=event.local_date,
            waiting=waiting,
            claim_seconds=claim_seconds,
        )

    async def on_offer_held(session: AsyncSession, event: WaitlistHoldPlaced) -> None:
        await record_offer(session, held=event, now=clock.now())

    async def on_booking_created(session: AsyncSession, event: BookingCreated) -> None:
        await claim_offer(session, hold_id=event.hold_id)

    return ConsumerSpec(
        name="booking.waitlist",
        topics=(topic_for("inventory"), topic_for("booking")),
        handlers=dict(
            [
                handles(HoldReleased, offer_freed_seats),
                handles(HoldExpired, offer_freed_seats),
                handles(SeatsReturned, offer_freed_seats),
                handles(WaitlistHoldPlaced, on_offer_held),
                handles(BookingCreated, on_booking_created),
            ]
        ),
    )
