"""Blackouts: take every slot of a date range out, for one listing or for all of them, and
put back, when one is lifted, what no other blackout still covers."""

import base64
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.inventory.blackouts.models import Blackout, BlackoutSlot
from services.inventory.blackouts.repository import slot_blacked_out
from services.inventory.blackouts.schemas import BlackoutCreate, BlackoutOut, BlackoutPage, BlackoutSlotOut
from services.inventory.calendar.cache import calendar_changed
from services.inventory.feed.publisher import slot_changed
from services.inventory.holds.metrics import count_hold
from services.inventory.holds.models import SeatHold
from services.inventory.holds.seats import RedisSeats
from services.inventory.holds.service import PRODUCER, available_seats, release_seats
from services.inventory.listings.lookup import get_owned_listing
from services.inventory.listings.models import Listing
from services.inventory.schedules.models import Schedule, Slot
from services.inventory.schedules.service import generate_slots
from shared.clock import Clock
from shared.contracts.inventory import HoldReleased, SlotsBlackedOut
from shared.errors import InvalidInput, NotFound
from shared.events.outbox import add_event
from shared.identity import Identity


async def create_blackout(
    session: AsyncSession,
    *,
    seats: RedisSeats,
    listing_id: UUID | None,
    author: Identity,
    fields: BlackoutCreate,
    clock: Clock,
) -> BlackoutOut:
    """Record the blackout and take out every slot it covers that has not started, in one
    transaction: open ones close, holds on them are released (no booking can be made from
    them now), and what was sold or held on each is recorded. Booking cancels the bookings on
    them on `inventory.slots_blacked_out`."""
    if listing_id is not None:
        await get_owned_listing(session, listing_id=listing_id, owner=author)
    now = clock.now()
    blackout = Blackout(
        id=uuid4(), listing_id=listing_id, created_by=author.user_id, created_at=now, **fields.model_dump()
    )
    session.add(blackout)
    covered: list[ColumnElement[bool]] = [
        Slot.local_date.between(fields.start_date, fields.end_date),
        Slot.starts_at > now,
    ]
    if listing_id is not None:
        covered.append(Slot.listing_id == listing_id)
    # Locked in the order a sale locks them (its hold, then its slot), so the counts recorded
    # are the ones the blackout met and the two never wait on each other.
    holds = (
        await session.scalars(
            select(SeatHold)
            .join(Slot, Slot.id == SeatHold.slot_id)
            .where(
                *covered,
                or_(SeatHold.status == "confirmed", (SeatHold.status == "active") & (SeatHold.expires_at > now)),
            )
            .order_by(SeatHold.id)
            .with_for_update(of=SeatHold)
        )
    ).all()
    slots = (await session.scalars(select(Slot).where(*covered).order_by(Slot.id).with_for_update())).all()
    newly_closed = [slot for slot in slots if slot.closed_at is None]
    for slot in newly_closed:
        slot.closed_at, slot.closed_reason = now, "blackout"
    taken: list[BlackoutSlot] = []
    for slot in sorted(slots, key=lambda slot: slot.starts_at):
        on_slot = [hold for hold in holds if hold.slot_id == slot.id]
        held = sum(hold.seats for hold in on_slot if hold.status == "active")
        taken.append(
            BlackoutSlot(
                blackout_id=blackout.id,
                slot_id=slot.id,
                listing_id=slot.listing_id,
                starts_at=slot.starts_at,
                bookings=len(on_slot),
                seats_taken=slot.confirmed_seats + held,
            )
        )
    session.add_all(taken)
    await session.flush()
    by_id = {slot.id: slot for slot in slots}
    for hold in holds:
        if hold.status == "active":
            await _release(session, seats=seats, hold=hold, slot=by_id[hold.slot_id], clock=clock)
    add_event(
        session,
        SlotsBlackedOut(
            blackout_id=blackout.id,
            listing_id=listing_id,
            start_date=fields.start_date,
            end_date=fields.end_date,
            reason=fields.reason,
            created_by=author.user_id,
            slots_closed=[slot.id for slot in slots],
            slots_with_bookings=[row.slot_id for row in taken if row.seats_taken > 0],
        ),
        producer=PRODUCER,
        key=str(listing_id or blackout.id),
    )
    await session.commit()
    await calendar_changed(seats.redis, listing_id)
    for slot in newly_closed:
        await slot_changed(
            seats.redis,
            listing_id=slot.listing_id,
            slot_id=slot.id,
            available=0,
            capacity=slot.capacity,
            change="slot_closed",
            seats=0,
            at=now,
        )
    return _out(blackout, taken)


async def _release(session: AsyncSession, *, seats: RedisSeats, hold: SeatHold, slot: Slot, clock: Clock) -> None:
    hold.status, hold.ended_at = "released", clock.now()
    count_hold(session, "released")
    add_event(
        session,
        HoldReleased(
            hold_id=hold.id, slot_id=slot.id, listing_id=hold.listing_id, seats=hold.seats, local_date=slot.local_date
        ),
        producer=PRODUCER,
        key=str(slot.id),
    )
    await release_seats(session, seats=seats, slot=slot, hold=hold, clock=clock)


async def list_blackouts(
    session: AsyncSession, *, listing_id: UUID | None, viewer: Identity, limit: int, cursor: str | None
) -> BlackoutPage:
    """A listing's blackouts, its own and those of every listing, newest first, each with the
    listing's slots it took out; with no listing (admins), the blackouts of every listing."""
    query = select(Blackout)
    if listing_id is not None:
        await get_owned_listing(session, listing_id=listing_id, owner=viewer)
        query = query.where(or_(Blackout.listing_id == listing_id, Blackout.listing_id.is_(None)))
    else:
        query = query.where(Blackout.listing_id.is_(None))
    if cursor:
        query = query.where(tuple_(Blackout.created_at, Blackout.id) < _decode_cursor(cursor))
    blackouts = list(
        (await session.scalars(query.order_by(Blackout.created_at.desc(), Blackout.id.desc()).limit(limit + 1))).all()
    )
    next_cursor = _encode_cursor(blackouts[limit - 1]) if len(blackouts) > limit else None
    blackouts = blackouts[:limit]
    slots = await _slots_of(session, [blackout.id for blackout in blackouts], listing_id=listing_id)
    return BlackoutPage(
        items=[_out(blackout, [slot for slot in slots if slot.blackout_id == blackout.id]) for blackout in blackouts],
        next_cursor=next_cursor,
    )


async def lift_blackout(
    session: AsyncSession,
    *,
    seats: RedisSeats,
    listing_id: UUID | None,
    blackout_id: UUID,
    lifter: Identity,
    clock: Clock,
    horizon_days: int,
) -> BlackoutOut:
    """Lift a blackout: its slots that have not started and that no other blackout covers go
    back on sale with the seats they have free (the bookings cancelled on them gave theirs
    back; none sold elsewhere is sold again), and slots its dates kept from being made are
    made. Lifting a lifted blackout changes nothing."""
    if listing_id is not None:
        await get_owned_listing(session, listing_id=listing_id, owner=lifter)
    blackout = await session.scalar(
        select(Blackout)
        .where(
            Blackout.id == blackout_id,
            Blackout.listing_id == listing_id if listing_id is not None else Blackout.listing_id.is_(None),
        )
        .with_for_update()
    )
    if blackout is None:
        raise NotFound("No such blackout.")
    if blackout.lifted_at is not None:
        return _out(blackout, await _slots_of(session, [blackout.id], listing_id=listing_id))
    now = clock.now()
    blackout.lifted_at, blackout.lifted_by = now, lifter.user_id
    await session.flush()
    mine: list[ColumnElement[bool]] = [] if listing_id is None else [Slot.listing_id == listing_id]
    reopened = (
        await session.scalars(
            update(Slot)
            .where(
                *mine,
                Slot.closed_reason == "blackout",
                Slot.local_date.between(blackout.start_date, blackout.end_date),
                Slot.starts_at > now,
                ~slot_blacked_out(),
            )
            .values(closed_at=None, closed_reason=None)
            .returning(Slot)
        )
    ).all()
    await _make_missing_slots(session, listing_id=listing_id, clock=clock, horizon_days=horizon_days)
    await session.commit()
    await calendar_changed(seats.redis, listing_id)
    await _announce_reopened(session, seats=seats, slots=reopened, clock=clock)
    out = _out(blackout, await _slots_of(session, [blackout.id], listing_id=listing_id))
    return out.model_copy(update={"slots_reopened": [slot.id for slot in reopened]})


async def _make_missing_slots(
    session: AsyncSession, *, listing_id: UUID | None, clock: Clock, horizon_days: int
) -> None:
    """Slots a schedule would have had on the lifted dates but for the blackout."""
    query = (
        select(Schedule, Listing).join(Listing, Listing.id == Schedule.listing_id).where(Listing.archived_at.is_(None))
    )
    if listing_id is not None:
        query = query.where(Listing.id == listing_id)
    for schedule, listing in (await session.execute(query)).all():
        await generate_slots(session, schedule=schedule, listing=listing, clock=clock, horizon_days=horizon_days)


async def _announce_reopened(session: AsyncSession, *, seats: RedisSeats, slots: Sequence[Slot], clock: Clock) -> None:
    for slot in slots:
        await slot_changed(
            seats.redis,
            listing_id=slot.listing_id,
            slot_id=slot.id,
            available=await available_seats(session, seats=seats, slot=slot, clock=clock),
            capacity=slot.capacity,
            change="slot_reopened",
            seats=0,
            at=clock.now(),
        )


async def _slots_of(session: AsyncSession, blackout_ids: list[UUID], *, listing_id: UUID | None) -> list[BlackoutSlot]:
    query = select(BlackoutSlot).where(BlackoutSlot.blackout_id.in_(blackout_ids))
    if listing_id is not None:
        query = query.where(BlackoutSlot.listing_id == listing_id)
    return list((await session.scalars(query.order_by(BlackoutSlot.starts_at))).all())


def _out(blackout: Blackout, slots: Sequence[BlackoutSlot]) -> BlackoutOut:
    return BlackoutOut(
        id=blackout.id,
        listing_id=blackout.listing_id,
        start_date=blackout.start_date,
        end_date=blackout.end_date,
        reason=blackout.reason,
        created_at=blackout.created_at,
        lifted_at=blackout.lifted_at,
        slots_closed=len(slots),
        slots_with_bookings=[slot.slot_id for slot in slots if slot.seats_taken > 0],
        bookings_affected=sum(slot.bookings for slot in slots),
        slots=[BlackoutSlotOut.model_validate(slot) for slot in slots],
    )


def _encode_cursor(blackout: Blackout) -> str:
    return base64.urlsafe_b64encode(f"{blackout.created_at.isoformat()}|{blackout.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        created_at, blackout_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(created_at), UUID(blackout_id)
    except ValueError:
        raise InvalidInput("The cursor is not valid.", details={"cursor": cursor}) from None
