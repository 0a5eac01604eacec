"""The waitlist: travelers wait for a listing's date; when seats come free there, the first
entry that fits is offered a hold for the claim window, and an offer left unclaimed moves on."""

import logging
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.bookings.domain import check_party_size
from services.booking.bookings.service import PRODUCER
from services.booking.upstreams.inventory import InventoryClient
from services.booking.waitlist.models import WaitlistEntry
from services.booking.waitlist.schemas import PriorityChange, WaitlistEntryOut, WaitlistJoin
from shared.clock import Clock
from shared.contracts.booking import WaitlistCandidate, WaitlistOffered, WaitlistOfferRequested
from shared.contracts.inventory import WaitlistHoldPlaced
from shared.errors import Conflict, NotFound
from shared.events.outbox import add_event
from shared.identity import Identity

logger = logging.getLogger(__name__)

CANDIDATES_PER_OFFER = 20


async def join_waitlist(
    session: AsyncSession, *, traveler: Identity, request: WaitlistJoin, inventory: InventoryClient, clock: Clock
) -> WaitlistEntry:
    listing = await inventory.read_listing(request.listing_id)
    if listing.booking_mode != "instant":
        raise Conflict("Only instantly bookable listings have a waitlist.", error_code="NOT_INSTANT_BOOKABLE")
    if request.date < clock.now().date():
        raise Conflict("That day has passed.", error_code="DAY_PASSED")
    check_party_size(request.party_size, max_party_size=listing.max_party_size)
    waiting = await _entry_of(session, traveler=traveler, request=request)
    if waiting is not None:
        raise _already_waiting(waiting)
    entry = WaitlistEntry(
        traveler_id=traveler.user_id,
        listing_id=request.listing_id,
        local_date=request.date,
        party_size=request.party_size,
        traveler_email=traveler.email,
        listing_title=listing.title,
    )
    session.add(entry)
    try:
        await session.commit()
    except IntegrityError:
        # The same traveler joined the same day concurrently: the unique constraint kept one.
        await session.rollback()
        waiting = await _entry_of(session, traveler=traveler, request=request)
        if waiting is None:
            raise
        raise _already_waiting(waiting) from None
    return entry


async def _entry_of(session: AsyncSession, *, traveler: Identity, request: WaitlistJoin) -> WaitlistEntry | None:
    return await session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.traveler_id == traveler.user_id,
            WaitlistEntry.listing_id == request.listing_id,
            WaitlistEntry.local_date == request.date,
        )
    )


def _already_waiting(entry: WaitlistEntry) -> Conflict:
    """409 WAITLIST_ENTRY_EXISTS: one entry per traveler per listing and date (fair use)."""
    return Conflict(
        "You are already on this day's waitlist; one entry per day.",
        error_code="WAITLIST_ENTRY_EXISTS",
        details={"entry": WaitlistEntryOut.model_validate(entry).model_dump(mode="json")},
    )


async def entries_of(session: AsyncSession, *, traveler: Identity) -> list[WaitlistEntry]:
    query = select(WaitlistEntry).where(WaitlistEntry.traveler_id == traveler.user_id)
    return list((await session.scalars(query.order_by(WaitlistEntry.created_at))).all())


async def waiting_on(session: AsyncSession, *, listing_id: UUID, local_date: date) -> list[WaitlistEntry]:
    """Every entry of a listing's date, in the order offers go out, for ops."""
    query = select(WaitlistEntry).where(WaitlistEntry.listing_id == listing_id, WaitlistEntry.local_date == local_date)
    rows = await session.scalars(
        query.order_by(WaitlistEntry.priority.desc(), WaitlistEntry.created_at, WaitlistEntry.id)
    )
    return list(rows.all())


async def set_priority(
    session: AsyncSession, *, entry_id: UUID, change: PriorityChange, admin: Identity
) -> WaitlistEntry:
    """Ops move a waiting entry up (a traveler whose booking the platform let down, say):
    offers go to higher priorities first, then first come."""
    entry = await session.get(WaitlistEntry, entry_id, with_for_update=True)
    if entry is None:
        raise NotFound("No such waitlist entry.")
    if entry.status != "waiting":
        raise Conflict("Only a waiting entry is reordered.", error_code="NOT_WAITING", details={"status": entry.status})
    logger.info(
        "waitlist entry %s: priority %d → %d by %s (%s)",
        entry.id,
        entry.priority,
        change.priority,
        admin.user_id,
        change.reason,
    )
    entry.priority = change.priority
    await session.commit()
    return entry


async def lapse_offer(session: AsyncSession, *, hold_id: UUID) -> None:
    """The hold of an offer ended without a booking: the offer is gone."""
    await session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.hold_id == hold_id, WaitlistEntry.status == "offered")
        .values(status="lapsed")
    )


async def claim_offer(session: AsyncSession, *, hold_id: UUID) -> None:
    """A booking was made from an offer's hold."""
    await session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.hold_id == hold_id, WaitlistEntry.status == "offered")
        .values(status="claimed")
    )


def request_offer(
    session: AsyncSession, *, listing_id: UUID, local_date: date, waiting: list[WaitlistEntry], claim_seconds: int
) -> None:
    """Ask inventory to hold the freed seats for the first of `waiting` whose party fits."""
    if not waiting:
        return
    add_event(
        session,
        WaitlistOfferRequested(
            listing_id=listing_id,
            local_date=local_date,
            claim_seconds=claim_seconds,
            candidates=[
                WaitlistCandidate(entry_id=entry.id, traveler_id=entry.traveler_id, party_size=entry.party_size)
                for entry in waiting
            ],
        ),
        producer=PRODUCER,
        key=f"{listing_id}:{local_date}",
    )


async def waiting_for(session: AsyncSession, *, listing_id: UUID, local_date: date) -> list[WaitlistEntry]:
    """Waiting entries of a listing's date, by priority and then first come."""
    return list(
        (
            await session.scalars(
                select(WaitlistEntry)
                .where(
                    WaitlistEntry.listing_id == listing_id,
                    WaitlistEntry.local_date == local_date,
                    WaitlistEntry.status == "waiting",
                )
                .order_by(WaitlistEntry.priority.desc(), WaitlistEntry.created_at, WaitlistEntry.id)
                .limit(CANDIDATES_PER_OFFER)
            )
        ).all()
    )


async def record_offer(session: AsyncSession, *, held: WaitlistHoldPlaced, now: datetime) -> None:
    """Inventory held seats for a waiting entry: it is offered them, and its traveler is told,
    once (a repeated hold event finds the entry offered already)."""
    entry = await session.scalar(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == held.entry_id, WaitlistEntry.status == "waiting")
        .values(status="offered", hold_id=held.hold_id, offer_expires_at=held.expires_at)
        .returning(WaitlistEntry)
    )
    if entry is None:
        return
    add_event(
        session,
        WaitlistOffered(
            entry_id=entry.id,
            traveler_id=entry.traveler_id,
            traveler_email=entry.traveler_email,
            listing_id=entry.listing_id,
            listing_title=held.listing_title or entry.listing_title,
            local_date=entry.local_date,
            party_size=entry.party_size,
            hold_id=held.hold_id,
            slot_id=held.slot_id,
            seats=held.seats,
            starts_at=held.starts_at,
            timezone=held.timezone,
            offer_expires_at=held.expires_at,
            offered_at=now,
        ),
        producer=PRODUCER,
        key=str(entry.id),
    )
