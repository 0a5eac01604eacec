"""Ops raise a waiting entry's priority: offers go to higher priorities first, then first come."""

import uuid
from datetime import date, timedelta

from services.booking.tests.conftest import BookingApp
from services.booking.waitlist.models import WaitlistEntry
from services.booking.waitlist.service import waiting_for
from shared.testing import make_identity


async def test_ops_move_an_entry_ahead_of_those_who_came_first(booking_app: BookingApp) -> None:
    admin = make_identity("admin")
    listing_id, day = uuid.uuid4(), date(2031, 6, 1)
    entries = [
        WaitlistEntry(
            traveler_id=uuid.uuid4(),
            listing_id=listing_id,
            local_date=day,
            party_size=2,
            created_at=booking_app.clock.now() + timedelta(minutes=minute),
        )
        for minute in range(3)
    ]
    async with booking_app.sessions() as session, session.begin():
        session.add_all(entries)
    last = entries[-1]

    raised = await booking_app.client.patch(
        f"/admin/waitlist/{last.id}",
        json={"priority": 10, "reason": "their booking was cancelled by the provider"},
        headers=booking_app.as_(admin),
    )
    assert raised.status_code == 200, raised.text
    assert raised.json()["priority"] == 10

    async with booking_app.sessions() as session:
        order = [entry.id for entry in await waiting_for(session, listing_id=listing_id, local_date=day)]
    assert order == [last.id, entries[0].id, entries[1].id]
    listed = await booking_app.client.get(
        "/admin/waitlist",
        params={"listing_id": str(listing_id), "date": day.isoformat()},
        headers=booking_app.as_(admin),
    )
    assert [item["id"] for item in listed.json()["items"]] == [str(entry_id) for entry_id in order]


async def test_only_ops_reorder_the_waitlist_and_only_waiting_entries(booking_app: BookingApp) -> None:
    admin, traveler = make_identity("admin"), make_identity("traveler")
    entry = WaitlistEntry(
        traveler_id=traveler.user_id,
        listing_id=uuid.uuid4(),
        local_date=date(2031, 6, 2),
        party_size=1,
        status="lapsed",
    )
    async with booking_app.sessions() as session, session.begin():
        session.add(entry)
    change = {"priority": 5, "reason": "goodwill"}

    as_traveler = await booking_app.client.patch(
        f"/admin/waitlist/{entry.id}", json=change, headers=booking_app.as_(traveler)
    )
    assert as_traveler.status_code == 403
    lapsed = await booking_app.client.patch(f"/admin/waitlist/{entry.id}", json=change, headers=booking_app.as_(admin))
    assert (lapsed.status_code, lapsed.json()["error_code"]) == (409, "NOT_WAITING")
    unknown = await booking_app.client.patch(
        f"/admin/waitlist/{uuid.uuid4()}", json=change, headers=booking_app.as_(admin)
    )
    assert unknown.status_code == 404
    too_high = await booking_app.client.patch(
        f"/admin/waitlist/{entry.id}", json={"priority": 1000, "reason": "x"}, headers=booking_app.as_(admin)
    )
    assert (too_high.status_code, too_high.json()["error_code"]) == (422, "VALIDATION_ERROR")
