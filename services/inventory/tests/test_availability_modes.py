"""Calendar listings open on their open days; toggle listings are switched on and off;
a slot's capacity changes but never below the seats confirmed and held."""

from datetime import date, timedelta
from typing import Any

from services.inventory.tests.conftest import LISTING, Inventory, create_listing_with_slot
from shared.identity import Identity
from shared.testing import make_identity


async def _daily_listing(inventory: Inventory, provider: Identity, **overrides: Any) -> tuple[str, date]:
    """A listing running daily at 10:00 for the next 14 days; returns its id and first day."""
    created = await inventory.client.post("/listings", json=LISTING | overrides, headers=inventory.as_(provider))
    assert created.status_code == 201, created.text
    listing_id = created.json()["id"]
    first = (inventory.clock.now() + timedelta(days=1)).date()
    schedule = await inventory.client.post(
        f"/listings/{listing_id}/schedules",
        json={
            "start_time": "10:00",
            "duration_minutes": 60,
            "recurrence": "daily",
            "capacity": 4,
            "valid_from": first.isoformat(),
            "valid_until": (first + timedelta(days=13)).isoformat(),
        },
        headers=inventory.as_(provider),
    )
    assert schedule.status_code == 201, schedule.text
    return listing_id, first


async def _open_dates(inventory: Inventory, listing_id: str, first: date) -> list[date]:
    calendar = await inventory.client.get(
        f"/listings/{listing_id}/calendar", params={"year": first.year, "month": first.month}
    )
    assert calendar.status_code == 200, calendar.text
    return [date.fromisoformat(day["date"]) for day in calendar.json()["days"] if day["has_availability"]]


async def test_a_calendar_listing_opens_only_on_its_open_days_and_follows_their_changes(
    inventory: Inventory, provider: Identity
) -> None:
    # Closed every Monday and on 9 May each year, from the start.
    closed = {"kind": "blocklist", "weekdays": [0], "annual": ["05-09"]}
    listing_id, first = await _daily_listing(inventory, provider, availability_mode="calendar", open_days=closed)
    run = [first + timedelta(days=offset) for offset in range(14) if (first + timedelta(days=offset)).month == 5]
    expected = [day for day in run if day.weekday() != 0 and (day.month, day.day) != (5, 9)]
    assert await _open_dates(inventory, listing_id, first) == expected

    # Now open only at weekends: weekday slots close, and Mondays stay shut.
    weekends = {"kind": "allowlist", "weekdays": [5, 6]}
    changed = await inventory.client.patch(
        f"/listings/{listing_id}", json={"open_days": weekends}, headers=inventory.as_(provider)
    )
    assert changed.status_code == 200, changed.text
    assert await _open_dates(inventory, listing_id, first) == [day for day in run if day.weekday() >= 5]

    # Every day open again: the slots the calendar closed reopen and the missing ones appear.
    cleared = await inventory.client.patch(
        f"/listings/{listing_id}", json={"open_days": None}, headers=inventory.as_(provider)
    )
    assert cleared.status_code == 200, cleared.text
    assert await _open_dates(inventory, listing_id, first) == run


async def test_open_days_are_refused_outside_calendar_mode_and_when_malformed(
    inventory: Inventory, provider: Identity
) -> None:
    for open_days in (
        {"kind": "blocklist", "annual": ["12-25"]},
        {"kind": "allowlist"},
        {"annual": ["13-01"]},
        {"annual": ["02-30"]},
        {"weekdays": [7]},
    ):
        mode = "inventory" if open_days.get("annual") == ["12-25"] else "calendar"
        answer = await inventory.client.post(
            "/listings",
            json=LISTING | {"availability_mode": mode, "open_days": open_days},
            headers=inventory.as_(provider),
        )
        assert answer.status_code == 422, (open_days, answer.text)
        assert answer.json()["error_code"] == "VALIDATION_ERROR"
    nulled = await inventory.client.post("/listings", json=LISTING, headers=inventory.as_(provider))
    refused = await inventory.client.patch(
        f"/listings/{nulled.json()['id']}", json={"title": None}, headers=inventory.as_(provider)
    )
    assert refused.status_code == 422


async def test_a_toggle_listing_switched_off_sells_nothing_until_switched_on(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, availability_mode="toggle")
    day = (inventory.clock.now() + timedelta(days=1)).date()
    off = await inventory.client.patch(
        f"/listings/{listing_id}", json={"on_sale": False}, headers=inventory.as_(provider)
    )
    assert off.status_code == 200
    assert off.json()["on_sale"] is False
    refused = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "adults": 1}, headers=inventory.as_(traveler)
    )
    assert refused.status_code == 409
    assert refused.json()["error_code"] == "NOT_ON_SALE"
    shown = await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": day.isoformat()})
    assert shown.json()["slots"] == []
    assert await _open_dates(inventory, listing_id, day) == []
    found = await inventory.client.get(
        "/listings", params={"provider_id": str(provider.user_id), "date": day.isoformat()}
    )
    assert found.json()["items"] == []

    on = await inventory.client.patch(
        f"/listings/{listing_id}", json={"on_sale": True}, headers=inventory.as_(provider)
    )
    assert on.status_code == 200
    held = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "adults": 1}, headers=inventory.as_(traveler)
    )
    assert held.status_code == 201, held.text
    assert await _open_dates(inventory, listing_id, day) == [day]


async def test_capacity_changes_never_drop_below_the_seats_taken(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=6)
    held = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "adults": 4}, headers=inventory.as_(traveler)
    )
    assert held.status_code == 201
    slot_path = f"/listings/{listing_id}/slots/{slot_id}"

    too_small = await inventory.client.patch(slot_path, json={"capacity": 3}, headers=inventory.as_(provider))
    assert too_small.status_code == 409
    assert too_small.json()["error_code"] == "CAPACITY_BELOW_TAKEN"
    assert too_small.json()["details"] == {"slot_id": slot_id, "requested": 3, "taken": 4}

    exact = await inventory.client.patch(slot_path, json={"capacity": 4}, headers=inventory.as_(provider))
    assert exact.status_code == 200, exact.text
    assert (exact.json()["capacity"], exact.json()["available"]) == (4, 0)
    sold_out = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "adults": 1}, headers=inventory.as_(make_identity("traveler"))
    )
    assert sold_out.status_code == 409

    grown = await inventory.client.patch(slot_path, json={"capacity": 9}, headers=inventory.as_(provider))
    assert (grown.json()["capacity"], grown.json()["available"]) == (9, 5)
    # Once the hold is released, the capacity may shrink to nothing.
    await inventory.client.delete(f"/holds/{held.json()['id']}", headers=inventory.as_(traveler))
    emptied = await inventory.client.patch(slot_path, json={"capacity": 0}, headers=inventory.as_(provider))
    assert (emptied.json()["capacity"], emptied.json()["available"]) == (0, 0)

    stranger = await inventory.client.patch(
        slot_path, json={"capacity": 5}, headers=inventory.as_(make_identity("provider"))
    )
    assert stranger.status_code == 404


async def test_a_provider_takes_one_slot_off_sale_and_back(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider)
    slot_path = f"/listings/{listing_id}/slots/{slot_id}"
    closed = await inventory.client.patch(slot_path, json={"on_sale": False}, headers=inventory.as_(provider))
    assert (closed.json()["closed_reason"], closed.json()["available"]) == ("provider", 0)
    refused = await inventory.client.post("/holds", json={"slot_id": slot_id}, headers=inventory.as_(traveler))
    assert refused.json()["error_code"] == "SLOT_CLOSED"
    reopened = await inventory.client.patch(slot_path, json={"on_sale": True}, headers=inventory.as_(provider))
    assert (reopened.json()["closed_reason"], reopened.json()["available"]) == (None, 10)
