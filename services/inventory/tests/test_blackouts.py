"""Blackouts close the slots they cover, record what was sold or held on each, release the
holds on them, keep new slots out, are listed to their owner, and lifted: what no other
blackout covers and has not started goes back on sale with the seats it has free."""

import contextlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inventory.holds.models import SeatHold
from services.inventory.schedules.models import Slot
from services.inventory.tests.conftest import LISTING, Inventory
from shared.db import create_engine, create_session_factory
from shared.events.models import OutboxMessage
from shared.identity import Identity
from shared.testing import make_identity


async def _daily_listing(inventory: Inventory, provider: Identity, days: int = 10) -> tuple[str, date]:
    listing_id = (await inventory.client.post("/listings", json=LISTING, headers=inventory.as_(provider))).json()["id"]
    first = (inventory.clock.now() + timedelta(days=1)).date()
    schedule = await inventory.client.post(
        f"/listings/{listing_id}/schedules",
        json={
            "start_time": "10:00",
            "duration_minutes": 60,
            "recurrence": "daily",
            "capacity": 5,
            "valid_from": first.isoformat(),
            "valid_until": (first + timedelta(days=days - 1)).isoformat(),
        },
        headers=inventory.as_(provider),
    )
    assert schedule.json()["slots_generated"] == days
    return listing_id, first


async def _slots_on(inventory: Inventory, listing_id: str, day: date) -> list[dict[str, Any]]:
    response = await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": day.isoformat()})
    slots: list[dict[str, Any]] = response.json()["slots"]
    return slots


async def test_a_blackout_closes_its_slots_and_names_those_with_bookings(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, first = await _daily_listing(inventory, provider)
    booked_slot = (await _slots_on(inventory, listing_id, first + timedelta(days=3)))[0]["slot_id"]
    engine = create_engine(database_url=inventory.settings.database_url, schema="inventory")
    sessions = create_session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            await session.execute(update(Slot).where(Slot.id == booked_slot).values(confirmed_seats=2))

        blackout = await inventory.client.post(
            f"/listings/{listing_id}/blackouts",
            json={
                "start_date": (first + timedelta(days=2)).isoformat(),
                "end_date": (first + timedelta(days=4)).isoformat(),
                "reason": "Storm warning",
            },
            headers=inventory.as_(provider),
        )
        assert blackout.status_code == 201, blackout.text
        assert blackout.json()["slots_closed"] == 3
        assert blackout.json()["slots_with_bookings"] == [booked_slot]

        for offset, expected in ((1, 1), (2, 0), (3, 0), (4, 0), (5, 1)):
            assert len(await _slots_on(inventory, listing_id, first + timedelta(days=offset))) == expected
        held = await inventory.client.post(
            "/holds", json={"slot_id": booked_slot, "adults": 1}, headers=inventory.as_(traveler)
        )
        assert held.json()["error_code"] == "SLOT_CLOSED"

        async with sessions() as session:
            events = (
                await session.scalars(
                    select(OutboxMessage.envelope).where(OutboxMessage.event_type == "inventory.slots_blacked_out")
                )
            ).all()
    finally:
        await engine.dispose()
    mine = [event for event in events if event["payload"]["listing_id"] == listing_id]
    assert len(mine) == 1
    assert mine[0]["payload"]["slots_with_bookings"] == [booked_slot]
    assert len(mine[0]["payload"]["slots_closed"]) == 3


async def test_only_the_owner_blacks_out_a_listing_and_only_an_admin_everything(
    inventory: Inventory, provider: Identity
) -> None:
    listing_id, first = await _daily_listing(inventory, provider, days=3)
    body = {"start_date": first.isoformat(), "end_date": first.isoformat(), "reason": "Closed"}
    stranger = make_identity("provider")
    assert (
        await inventory.client.post(f"/listings/{listing_id}/blackouts", json=body, headers=inventory.as_(stranger))
    ).status_code == 404
    assert (
        await inventory.client.post("/admin/blackouts", json=body, headers=inventory.as_(provider))
    ).status_code == 403
    backwards = body | {"end_date": (first - timedelta(days=1)).isoformat()}
    assert (
        await inventory.client.post(
            f"/listings/{listing_id}/blackouts", json=backwards, headers=inventory.as_(provider)
        )
    ).status_code == 422
    assert len(await _slots_on(inventory, listing_id, first)) == 1


async def test_a_global_blackout_closes_every_listing_and_new_schedules_skip_it(
    inventory: Inventory, provider: Identity
) -> None:
    far = (inventory.clock.now() + timedelta(days=100)).date()
    admin = make_identity("admin")
    blackout = await inventory.client.post(
        "/admin/blackouts",
        json={"start_date": far.isoformat(), "end_date": far.isoformat(), "reason": "National holiday"},
        headers=inventory.as_(admin),
    )
    assert blackout.status_code == 201, blackout.text
    listing_id = (await inventory.client.post("/listings", json=LISTING, headers=inventory.as_(provider))).json()["id"]
    schedule = await inventory.client.post(
        f"/listings/{listing_id}/schedules",
        json={
            "start_time": "10:00",
            "duration_minutes": 60,
            "recurrence": "daily",
            "capacity": 5,
            "valid_from": (far - timedelta(days=1)).isoformat(),
            "valid_until": (far + timedelta(days=1)).isoformat(),
        },
        headers=inventory.as_(provider),
    )
    assert schedule.json()["slots_generated"] == 2
    assert await _slots_on(inventory, listing_id, far) == []


async def _slot_on(inventory: Inventory, listing_id: str, day: date, owner: Identity) -> dict[str, Any]:
    """The owner's view of the listing's one slot of that day, open or not."""
    async with _sessions(inventory) as sessions, sessions() as session:
        slot_id = await session.scalar(select(Slot.id).where(Slot.listing_id == listing_id, Slot.local_date == day))
    response = await inventory.client.get(f"/listings/{listing_id}/slots/{slot_id}", headers=inventory.as_(owner))
    assert response.status_code == 200, response.text
    slot: dict[str, Any] = response.json()
    return slot


@contextlib.asynccontextmanager
async def _sessions(inventory: Inventory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url=inventory.settings.database_url, schema="inventory")
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


def _range(first: date, last: date, reason: str = "Storm warning") -> dict[str, str]:
    return {"start_date": first.isoformat(), "end_date": last.isoformat(), "reason": reason}


async def test_a_blackout_records_what_was_taken_on_its_slots_releases_their_holds_and_is_listed_to_its_owner(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, first = await _daily_listing(inventory, provider)
    held_slot = (await _slots_on(inventory, listing_id, first + timedelta(days=2)))[0]["slot_id"]
    sold_slot = (await _slots_on(inventory, listing_id, first + timedelta(days=3)))[0]["slot_id"]
    held = await inventory.client.post(
        "/holds", json={"slot_id": held_slot, "adults": 1}, headers=inventory.as_(traveler)
    )
    sold = await inventory.client.post(
        "/holds", json={"slot_id": sold_slot, "adults": 2}, headers=inventory.as_(traveler)
    )
    async with _sessions(inventory) as sessions, sessions() as session, session.begin():
        # As a paid booking leaves it: the hold confirmed, its seats counted on the slot.
        await session.execute(update(SeatHold).where(SeatHold.id == sold.json()["id"]).values(status="confirmed"))
        await session.execute(update(Slot).where(Slot.id == sold_slot).values(confirmed_seats=2))

    placed = await inventory.client.post(
        f"/listings/{listing_id}/blackouts",
        json=_range(first + timedelta(days=2), first + timedelta(days=4)),
        headers=inventory.as_(provider),
    )
    assert placed.status_code == 201, placed.text
    blackout = placed.json()
    assert (blackout["slots_closed"], blackout["bookings_affected"]) == (3, 2)
    assert blackout["slots_with_bookings"] == [held_slot, sold_slot]
    assert [(slot["slot_id"], slot["bookings"], slot["seats_taken"]) for slot in blackout["slots"]][:2] == [
        (held_slot, 1, 1),
        (sold_slot, 1, 2),
    ]
    assert blackout["lifted_at"] is None
    # No booking can be made from a hold on a day that will not happen.
    released = await inventory.client.get(f"/holds/{held.json()['id']}", headers=inventory.as_(traveler))
    assert released.json()["status"] == "released"

    listed = await inventory.client.get(f"/listings/{listing_id}/blackouts", headers=inventory.as_(provider))
    assert listed.status_code == 200, listed.text
    # Besides those of every listing (other tests place some), which keep this one's days too.
    assert [item for item in listed.json()["items"] if item["listing_id"] == listing_id] == [blackout]
    stranger = make_identity("provider")
    assert (
        await inventory.client.get(f"/listings/{listing_id}/blackouts", headers=inventory.as_(stranger))
    ).status_code == 404

    async with _sessions(inventory) as sessions, sessions() as session:
        events = (
            await session.scalars(
                select(OutboxMessage.envelope).where(
                    OutboxMessage.event_type.in_(["inventory.slots_blacked_out", "inventory.hold_released"])
                )
            )
        ).all()
    blacked_out = [event["payload"] for event in events if event["payload"].get("blackout_id") == blackout["id"]]
    assert [(payload["created_by"], payload["slots_with_bookings"]) for payload in blacked_out] == [
        (str(provider.user_id), [held_slot, sold_slot])
    ]
    released_holds = {event["payload"]["hold_id"] for event in events if event["type"] == "inventory.hold_released"}
    assert held.json()["id"] in released_holds
    assert sold.json()["id"] not in released_holds


async def test_lifting_reopens_the_future_slots_no_other_blackout_or_closure_keeps_with_their_free_seats(
    inventory: Inventory, provider: Identity
) -> None:
    listing_id, first = await _daily_listing(inventory, provider)
    day = {offset: first + timedelta(days=offset) for offset in range(6)}
    taken_off_sale = await _slot_on(inventory, listing_id, day[3], provider)
    changed = await inventory.client.patch(
        f"/listings/{listing_id}/slots/{taken_off_sale['id']}", json={"on_sale": False}, headers=inventory.as_(provider)
    )
    assert changed.status_code == 200, changed.text
    async with _sessions(inventory) as sessions, sessions() as session, session.begin():
        # Two seats sold before anything read the slot (so Redis loads them from here).
        await session.execute(
            update(Slot).where(Slot.listing_id == listing_id, Slot.local_date == day[2]).values(confirmed_seats=2)
        )
    sold_slot = await _slot_on(inventory, listing_id, day[2], provider)
    storm = (
        await inventory.client.post(
            f"/listings/{listing_id}/blackouts", json=_range(day[0], day[4]), headers=inventory.as_(provider)
        )
    ).json()
    festival = (
        await inventory.client.post(
            f"/listings/{listing_id}/blackouts",
            json=_range(day[4], day[5], "Festival"),
            headers=inventory.as_(provider),
        )
    ).json()
    # The first day's slot has started by the time the storm blackout is lifted.
    inventory.clock.advance(timedelta(days=1, hours=2))

    lifted = await inventory.client.delete(
        f"/listings/{listing_id}/blackouts/{storm['id']}", headers=inventory.as_(provider)
    )
    assert lifted.status_code == 200, lifted.text
    next_day = await _slot_on(inventory, listing_id, day[1], provider)
    assert sorted(lifted.json()["slots_reopened"]) == sorted([next_day["id"], sold_slot["id"]])
    assert lifted.json()["lifted_at"] is not None

    reasons = {
        offset: (await _slot_on(inventory, listing_id, day[offset], provider))["closed_reason"] for offset in day
    }
    assert reasons == {0: "blackout", 1: None, 2: None, 3: "provider", 4: "blackout", 5: "blackout"}
    # The seats sold on it stay sold; the rest are on sale again.
    assert [slot["available"] for slot in await _slots_on(inventory, listing_id, day[2])] == [3]

    again = await inventory.client.delete(
        f"/listings/{listing_id}/blackouts/{storm['id']}", headers=inventory.as_(provider)
    )
    assert (again.status_code, again.json()["lifted_at"], again.json()["slots_reopened"]) == (
        200,
        lifted.json()["lifted_at"],
        [],
    )
    listed = (await inventory.client.get(f"/listings/{listing_id}/blackouts", headers=inventory.as_(provider))).json()
    assert {item["id"]: item["lifted_at"] is None for item in listed["items"] if item["listing_id"]} == {
        storm["id"]: False,
        festival["id"]: True,
    }
    stranger = make_identity("provider")
    assert (
        await inventory.client.delete(
            f"/listings/{listing_id}/blackouts/{festival['id']}", headers=inventory.as_(stranger)
        )
    ).status_code == 404


async def test_lifting_a_blackout_of_every_listing_makes_the_slots_it_kept_out(
    inventory: Inventory, provider: Identity
) -> None:
    far = (inventory.clock.now() + timedelta(days=120)).date()
    admin = make_identity("admin")
    blackout = (
        await inventory.client.post("/admin/blackouts", json=_range(far, far, "Holiday"), headers=inventory.as_(admin))
    ).json()
    listing_id = (await inventory.client.post("/listings", json=LISTING, headers=inventory.as_(provider))).json()["id"]
    await inventory.client.post(
        f"/listings/{listing_id}/schedules",
        json={
            "start_time": "10:00",
            "duration_minutes": 60,
            "recurrence": "daily",
            "capacity": 5,
            "valid_from": far.isoformat(),
            "valid_until": far.isoformat(),
        },
        headers=inventory.as_(provider),
    )
    assert await _slots_on(inventory, listing_id, far) == []
    assert (
        await inventory.client.delete(f"/admin/blackouts/{blackout['id']}", headers=inventory.as_(provider))
    ).status_code == 403
    listed = (await inventory.client.get("/admin/blackouts", headers=inventory.as_(admin))).json()
    assert blackout["id"] in [item["id"] for item in listed["items"]]

    lifted = await inventory.client.delete(f"/admin/blackouts/{blackout['id']}", headers=inventory.as_(admin))
    assert lifted.status_code == 200, lifted.text
    assert [slot["available"] for slot in await _slots_on(inventory, listing_id, far)] == [5]
