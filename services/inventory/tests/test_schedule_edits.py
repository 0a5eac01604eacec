"""Editing a schedule changes its future slots and never the seats already taken."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.inventory.tests.conftest import LISTING, Inventory
from shared.identity import Identity
from shared.testing import make_identity


async def test_moving_a_schedule_keeps_taken_seats_where_they_are(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id = (await inventory.client.post("/listings", json=LISTING, headers=inventory.as_(provider))).json()["id"]
    first = (inventory.clock.now() + timedelta(days=1)).date()
    created = await inventory.client.post(
        f"/listings/{listing_id}/schedules",
        json={
            "start_time": "10:00",
            "duration_minutes": 60,
            "recurrence": "daily",
            "capacity": 8,
            "valid_from": first.isoformat(),
            "valid_until": (first + timedelta(days=4)).isoformat(),
        },
        headers=inventory.as_(provider),
    )
    schedule_id = created.json()["id"]
    days = [(first + timedelta(days=offset)).isoformat() for offset in range(5)]

    async def slots_on(day: str) -> list[dict[str, object]]:
        answer = await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": day})
        slots: list[dict[str, object]] = answer.json()["slots"]
        return slots

    booked_slot = (await slots_on(days[1]))[0]
    held = await inventory.client.post(
        "/holds", json={"slot_id": booked_slot["slot_id"], "adults": 5}, headers=inventory.as_(traveler)
    )
    assert held.status_code == 201

    # 11:30 instead of 10:00, for 90 minutes, 4 seats, and one day fewer.
    edited = await inventory.client.patch(
        f"/listings/{listing_id}/schedules/{schedule_id}",
        json={
            "start_time": "11:30",
            "duration_minutes": 90,
            "capacity": 4,
            "valid_until": days[3],
        },
        headers=inventory.as_(provider),
    )
    assert edited.status_code == 200, edited.text
    change = edited.json()
    assert change["schedule"]["start_time"] == "11:30:00"
    assert (change["slots_closed"], change["slots_added"]) == (5, 4)
    assert change["booked_slots_closed"] == [booked_slot["slot_id"]]

    for day in days[:4]:
        [slot] = await slots_on(day)
        assert (slot["start_time"], slot["end_time"], slot["capacity"]) == ("11:30", "13:00", 4)
    assert await slots_on(days[4]) == [], "past the new valid_until"
    # The held seats stay on their 10:00 slot, which sells no more.
    hold = await inventory.client.get(f"/holds/{held.json()['id']}", headers=inventory.as_(traveler))
    assert hold.json()["status"] == "active"
    starts_at = datetime.fromisoformat(hold.json()["starts_at"]).astimezone(ZoneInfo(str(LISTING["timezone"])))
    assert starts_at.strftime("%H:%M") == "10:00"
    another = await inventory.client.post(
        "/holds", json={"slot_id": booked_slot["slot_id"]}, headers=inventory.as_(make_identity("traveler"))
    )
    assert another.json()["error_code"] == "SLOT_CLOSED"

    # Back to 10:00: the closed slots reopen, the taken one included, with its seats intact.
    back = await inventory.client.patch(
        f"/listings/{listing_id}/schedules/{schedule_id}",
        json={"start_time": "10:00"},
        headers=inventory.as_(provider),
    )
    assert back.status_code == 200, back.text
    assert back.json()["slots_reopened"] == 4
    assert back.json()["capacity_kept_at_taken"] == [booked_slot["slot_id"]]
    reopened = await inventory.client.get(
        f"/listings/{listing_id}/slots/{booked_slot['slot_id']}", headers=inventory.as_(provider)
    )
    assert (reopened.json()["closed_reason"], reopened.json()["capacity"], reopened.json()["available"]) == (None, 5, 0)


async def test_an_edit_that_makes_an_invalid_schedule_is_refused(inventory: Inventory, provider: Identity) -> None:
    listing_id = (await inventory.client.post("/listings", json=LISTING, headers=inventory.as_(provider))).json()["id"]
    first = (inventory.clock.now() + timedelta(days=1)).date()
    created = await inventory.client.post(
        f"/listings/{listing_id}/schedules",
        json={"start_time": "10:00", "duration_minutes": 60, "capacity": 8, "valid_from": first.isoformat()},
        headers=inventory.as_(provider),
    )
    path = f"/listings/{listing_id}/schedules/{created.json()['id']}"
    refused = await inventory.client.patch(path, json={"weekdays": [1]}, headers=inventory.as_(provider))
    assert refused.status_code == 422
    assert refused.json()["error_code"] == "VALIDATION_ERROR"
    listed = await inventory.client.get(f"/listings/{listing_id}/schedules", headers=inventory.as_(provider))
    assert [schedule["weekdays"] for schedule in listed.json()] == [[]]
    other = await inventory.client.patch(path, json={"capacity": 3}, headers=inventory.as_(make_identity("provider")))
    assert other.status_code == 404
