"""Slots and holds of a listing away from UTC show the listing's zone and their local times."""

from datetime import timedelta
from typing import Any
from uuid import uuid4

from services.inventory.tests.conftest import Inventory, create_listing_with_slot
from shared.identity import Identity

# The slot runs 10:00 to 12:00 in Kathmandu (UTC+05:45) the day after the frozen clock's.
KATHMANDU = {
    "timezone": "Asia/Kathmandu",
    "starts_at": "2031-05-05T04:15:00Z",
    "ends_at": "2031-05-05T06:15:00Z",
    "local_starts_at": "2031-05-05T10:00:00+05:45",
    "local_ends_at": "2031-05-05T12:00:00+05:45",
}


def times_of(shown: dict[str, Any]) -> dict[str, Any]:
    return {name: shown[name] for name in KATHMANDU}


async def test_slots_show_the_listings_zone_and_their_local_times(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, timezone="Asia/Kathmandu")
    tomorrow = (inventory.clock.now() + timedelta(days=1)).date().isoformat()

    availability = await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": tomorrow})
    open_slots = await inventory.client.get(
        f"/listings/{listing_id}/open-slots", params={"from": tomorrow, "to": tomorrow, "party_size": 1}
    )
    owned = await inventory.client.get(f"/listings/{listing_id}/slots/{slot_id}", headers=inventory.as_(provider))
    for_request = await inventory.client.get(f"/internal/slots/{slot_id}", headers=inventory.as_(traveler))

    assert times_of(availability.json()["slots"][0]) == KATHMANDU
    assert times_of(open_slots.json()["slots"][0]) == KATHMANDU
    assert times_of(owned.json()) == KATHMANDU, owned.text
    assert times_of(for_request.json()) == KATHMANDU, for_request.text


async def test_holds_show_their_slots_zone_and_local_times(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    _, slot_id = await create_listing_with_slot(inventory, provider, timezone="Asia/Kathmandu")

    placed = await inventory.client.post("/holds", json={"slot_id": slot_id}, headers=inventory.as_(traveler))
    assert placed.status_code == 201, placed.text
    hold_id = placed.json()["id"]
    read = await inventory.client.get(f"/holds/{hold_id}", headers=inventory.as_(traveler))
    inventory.clock.advance(timedelta(minutes=10))
    extended = await inventory.client.post(f"/holds/{hold_id}/extend", headers=inventory.as_(traveler))
    for_request = await inventory.client.post(
        "/internal/holds",
        json={"hold_id": str(uuid4()), "slot_id": slot_id, "holder_id": str(uuid4()), "ttl_seconds": 3600},
        headers=inventory.as_(provider),
    )

    assert times_of(placed.json()) == KATHMANDU
    assert times_of(read.json()) == KATHMANDU
    assert times_of(extended.json()) == KATHMANDU, extended.text
    assert times_of(for_request.json()) == KATHMANDU, for_request.text
