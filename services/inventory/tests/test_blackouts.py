"""Blackouts close the slots they cover, say which had bookings, and keep new slots out."""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from services.inventory.schedules.models import Slot
from services.inventory.tests.conftest import LISTING, Inventory
from shared.auth import Identity
from shared.db import create_engine, create_session_factory
from shared.events.models import OutboxMessage
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
