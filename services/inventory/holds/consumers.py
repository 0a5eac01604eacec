"""What inventory does when bookings change: sell a paid booking's seats, free a failed one's,
put a cancelled or moved booking's seats back on sale."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.inventory.holds.metrics import count_hold
from services.inventory.holds.models import SeatHold
from services.inventory.holds.seats import RedisSeats, SeatChange
from services.inventory.holds.service import (
    PRODUCER,
    announce_hold_change,
    on_loaded_pool,
    release_seats,
    reserve_and_record,
    seat_pool,
    waitlist_hold_id,
)
from services.inventory.listings.models import Listing
from services.inventory.pricing.domain import Party
from services.inventory.schedules.models import Slot
from shared.app import AppResources
from shared.clock import Clock
from shared.contracts.booking import (
    BookingPaymentFailed,
    BookingPaymentReceived,
    BookingSeatsReleased,
    WaitlistOfferRequested,
)
from shared.contracts.inventory import (
    HoldReleased,
    SeatsConfirmed,
    SeatsReturned,
    SeatsUnavailable,
    WaitlistHoldPlaced,
)
from shared.errors import Conflict
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for
from shared.events.outbox import add_event


def booking_events_consumer(*, seats: RedisSeats, clock: Clock) -> ConsumerSpec:
    async def sell_paid_seats(session: AsyncSession, event: BookingPaymentReceived) -> None:
        hold = await session.get_one(SeatHold, event.hold_id, with_for_update=True)
        # The slot row stays locked from the Redis change to the commit, so reconciliation
        # (which takes the same lock) never reads PostgreSQL between the two.
        slot = await session.get_one(Slot, hold.slot_id, with_for_update=True)
        pool = await seat_pool(session, slot, lock=True)
        if hold.status in ("confirmed", "returned"):
            return

        def confirm(pool_id: UUID) -> Awaitable[SeatChange]:
            return seats.confirm(pool_id, hold_id=hold.id, seats=hold.seats, now=clock.now())

        change = await on_loaded_pool(session, seats=seats, slot=slot, clock=clock, action=confirm)
        confirmed = change.ok
        if confirmed:
            # PostgreSQL has the last word: the seats count only if they fit the capacity.
            counted = type(pool)
            sold = await session.execute(
                update(counted)
                .where(counted.id == pool.id, counted.confirmed_seats + hold.seats <= counted.capacity)
                .values(confirmed_seats=counted.confirmed_seats + hold.seats)
            )
            if getattr(sold, "rowcount", 0) != 1:
                await seats.unconfirm(pool.id, hold_id=hold.id, seats=hold.seats)
                confirmed = False
            elif pool is not slot:
                slot.confirmed_seats += hold.seats
        if confirmed:
            await announce_hold_change(session, seats=seats, hold=hold, change="seats_confirmed", clock=clock)
            hold.status, hold.booking_id, hold.ended_at = "confirmed", event.booking_id, clock.now()
            count_hold(session, "converted")
            add_event(
                session,
                SeatsConfirmed(
                    booking_id=event.booking_id,
                    hold_id=hold.id,
                    slot_id=slot.id,
                    listing_id=hold.listing_id,
                    seats=hold.seats,
                    late=change.late,
                    starts_at=slot.starts_at,
                    local_date=slot.local_date,
                    capacity=pool.capacity,
                    capacity_per_day=slot.pool_id is not None,
                ),
                producer=PRODUCER,
                key=str(slot.id),
            )
        else:
            add_event(
                session,
                SeatsUnavailable(booking_id=event.booking_id, hold_id=hold.id, slot_id=slot.id),
                producer=PRODUCER,
                key=str(slot.id),
            )

    async def free_seats_of_failed_payment(session: AsyncSession, event: BookingPaymentFailed) -> None:
        await release_active_hold(session, event.hold_id)

    async def release_active_hold(session: AsyncSession, hold_id: UUID) -> None:
        hold = await session.scalar(
            select(SeatHold).where(SeatHold.id == hold_id, SeatHold.status == "active").with_for_update()
        )
        if hold is None:
            return
        hold.status, hold.ended_at = "released", clock.now()
        count_hold(session, "released")
        slot = await session.get_one(Slot, hold.slot_id)
        add_event(
            session,
            HoldReleased(
                hold_id=hold.id,
                slot_id=hold.slot_id,
                listing_id=hold.listing_id,
                seats=hold.seats,
                local_date=slot.local_date,
            ),
            producer=PRODUCER,
            key=str(hold.slot_id),
        )
        await release_seats(session, seats=seats, slot=slot, hold=hold, clock=clock)
        await announce_hold_change(session, seats=seats, hold=hold, change="hold_released", clock=clock)

    async def return_released_seats(session: AsyncSession, event: BookingSeatsReleased) -> None:
        """A booking gave up its seats: an unpaid one's hold is released, a paid one's
        confirmed seats go back on sale."""
        hold = await session.get_one(SeatHold, event.hold_id, with_for_update=True)
        if hold.status == "active":
            await release_active_hold(session, hold.id)
            return
        slot = await session.get_one(Slot, hold.slot_id, with_for_update=True)
        pool = await seat_pool(session, slot, lock=True)
        if hold.status != "confirmed":
            return

        # Redis first, from the committed counts (which the row lock keeps still): a pool that
        # another request loads meanwhile is loaded from the same counts, so the seats come
        # back exactly once. Redis gives them back once however often this runs; if the commit
        # then fails, PostgreSQL still refuses any sale beyond capacity until reconciliation.
        def give_back(pool_id: UUID) -> Awaitable[SeatChange]:
            return seats.give_back(pool_id, hold_id=hold.id, seats=hold.seats, now=clock.now())

        available = (await on_loaded_pool(session, seats=seats, slot=slot, clock=clock, action=give_back)).available
        hold.status, hold.ended_at = "returned", clock.now()
        slot.confirmed_seats -= hold.seats
        if pool is not slot:
            pool.confirmed_seats -= hold.seats
        add_event(
            session,
            SeatsReturned(
                booking_id=event.booking_id,
                hold_id=hold.id,
                slot_id=slot.id,
                listing_id=hold.listing_id,
                seats=hold.seats,
                available=max(available, 0),
                local_date=slot.local_date,
                starts_at=slot.starts_at,
                capacity=pool.capacity,
                capacity_per_day=slot.pool_id is not None,
            ),
            producer=PRODUCER,
            key=str(slot.id),
        )
        await announce_hold_change(session, seats=seats, hold=hold, change="seats_returned", clock=clock)

    async def hold_seats_for_waitlist(session: AsyncSession, event: WaitlistOfferRequested) -> None:
        """Hold seats, for the claim window, for the first candidate whose party fits a slot of
        the day. A candidate offered before (its hold exists) is passed over, so a repeated
        request never holds twice."""
        listing = await session.get(Listing, event.listing_id)
        if listing is None or listing.archived_at is not None or not listing.on_sale:
            return
        now = clock.now()
        slots = (
            await session.scalars(
                select(Slot)
                .where(
                    Slot.listing_id == listing.id,
                    Slot.local_date == event.local_date,
                    Slot.closed_at.is_(None),
                    Slot.starts_at > now,
                )
                .order_by(Slot.starts_at)
            )
        ).all()
        for candidate in event.candidates:
            hold_id = waitlist_hold_id(candidate.entry_id)
            if await session.get(SeatHold, hold_id) is not None:
                continue
            for slot in slots:
                try:
                    hold = await reserve_and_record(
                        session,
                        seats=seats,
                        slot=slot,
                        listing=listing,
                        holder_id=candidate.traveler_id,
                        party=Party(adults=candidate.party_size, children=0, infants=0),
                        hold_id=hold_id,
                        expires_at=now + timedelta(seconds=event.claim_seconds),
                        clock=clock,
                    )
                except Conflict:
                    continue  # not enough seats on this slot
                add_event(
                    session,
                    WaitlistHoldPlaced(
                        entry_id=candidate.entry_id,
                        hold_id=hold.id,
                        slot_id=slot.id,
                        listing_id=listing.id,
                        holder_id=candidate.traveler_id,
                        seats=hold.seats,
                        expires_at=hold.expires_at,
                        listing_title=listing.title,
                        starts_at=slot.starts_at,
                        timezone=listing.timezone,
                    ),
                    producer=PRODUCER,
                    key=str(slot.id),
                )
                await announce_hold_change(session, seats=seats, hold=hold, change="hold_placed", clock=clock)
                return

    return ConsumerSpec(
        name="inventory.booking-events",
        topics=(topic_for("booking"),),
        handlers=dict(
            [
                handles(BookingPaymentReceived, sell_paid_seats),
                handles(BookingPaymentFailed, free_seats_of_failed_payment),
                handles(BookingSeatsReleased, return_released_seats),
                handles(WaitlistOfferRequested, hold_seats_for_waitlist),
            ]
        ),
    )


def booking_events_consumer_source(clock: Clock) -> Callable[[AppResources], ConsumerSpec]:
    """The consumer, built once the app's Redis client exists."""

    def build(resources: AppResources) -> ConsumerSpec:
        return booking_events_consumer(seats=RedisSeats(resources.redis), clock=clock)

    return build
