"""Fair use of seats: a listing's largest party, one active hold per traveler per seat pool
(placed atomically however many arrive at once), and extensions bounded from the placement."""

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from services.inventory.tests.conftest import (
    LISTING,
    Inventory,
    create_day_pool_listing,
    create_listing_with_slot,
)
from shared.identity import Identity
from shared.testing import make_identity


async def _hold(inventory: Inventory, traveler: Identity, slot_id: str, **party: Any) -> httpx.Response:
    return await inventory.client.post(
        "/holds", json={"slot_id": slot_id, **(party or {"adults": 1})}, headers=inventory.as_(traveler)
    )


async def _available(inventory: Inventory, listing_id: str) -> list[int]:
    tomorrow = (inventory.clock.now() + timedelta(days=1)).date().isoformat()
    response = await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": tomorrow})
    return [int(slot["available"]) for slot in response.json()["slots"]]


async def test_a_listing_takes_parties_up_to_its_max_party_size(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=50)
    listing = (await inventory.client.get(f"/listings/{listing_id}")).json()
    assert listing["max_party_size"] == 20, "a sensible default"

    whole_slot = await _hold(inventory, traveler, slot_id, adults=50)
    assert whole_slot.status_code == 422, whole_slot.text
    assert whole_slot.json()["error_code"] == "PARTY_TOO_LARGE"
    assert whole_slot.json()["details"] == {"max_party_size": 20, "requested": 50}
    by_ages = await _hold(inventory, traveler, slot_id, ages=[30] * 21)
    assert by_ages.json()["error_code"] == "PARTY_TOO_LARGE"
    assert await _available(inventory, listing_id) == [50], "a refused hold takes nothing"

    changed = await inventory.client.patch(
        f"/listings/{listing_id}", json={"max_party_size": 4}, headers=inventory.as_(provider)
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["max_party_size"] == 4
    assert (await _hold(inventory, traveler, slot_id, adults=3, children=2)).json()["error_code"] == "PARTY_TOO_LARGE"
    assert (await _hold(inventory, traveler, slot_id, adults=2, children=2)).status_code == 201

    for wrong in (0, 51, None):
        refused = await inventory.client.patch(
            f"/listings/{listing_id}", json={"max_party_size": wrong}, headers=inventory.as_(provider)
        )
        assert refused.status_code == 422, wrong
    created = await inventory.client.post(
        "/listings", json=LISTING | {"max_party_size": 0}, headers=inventory.as_(provider)
    )
    assert created.status_code == 422
    slot = await inventory.client.get(f"/internal/slots/{slot_id}", headers=inventory.as_(traveler))
    assert slot.json()["max_party_size"] == 4, "booking checks requests against it"

    found = await inventory.client.get("/listings", params={"city": "Lisbon", "party_size": 5})
    found_ids = [item["id"] for item in found.json()["items"]]
    assert listing_id not in found_ids, "search leaves out what cannot take the party"


async def test_a_second_hold_of_one_traveler_on_a_slot_is_refused_with_the_first(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=10, hold_ttl_seconds=900)
    first = await _hold(inventory, traveler, slot_id, adults=3)
    assert first.status_code == 201, first.text

    second = await _hold(inventory, traveler, slot_id, adults=1)
    assert second.status_code == 409, second.text
    body = second.json()
    assert body["error_code"] == "HOLD_EXISTS"
    assert body["details"]["hold_id"] == first.json()["id"]
    assert await _available(inventory, listing_id) == [7], "the refused hold took nothing"

    other = await _hold(inventory, make_identity("traveler"), slot_id, adults=2)
    assert other.status_code == 201, "another traveler still holds"

    released = await inventory.client.delete(f"/holds/{first.json()['id']}", headers=inventory.as_(traveler))
    assert released.status_code == 204
    again = await _hold(inventory, traveler, slot_id, adults=2)
    assert again.status_code == 201, "a released hold no longer counts"

    inventory.clock.advance(timedelta(seconds=901))
    after_lapse = await _hold(inventory, traveler, slot_id, adults=2)
    assert after_lapse.status_code == 201, "a lapsed hold no longer counts, recorded as expired or not yet"


async def test_concurrent_holds_of_one_traveler_on_one_slot_give_one_hold(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=50)
    answers = await asyncio.gather(*(_hold(inventory, traveler, slot_id, adults=5) for _ in range(12)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201] + [409] * 11, [answer.text for answer in answers]
    placed = next(answer.json()["id"] for answer in answers if answer.status_code == 201)
    refused = [answer.json() for answer in answers if answer.status_code == 409]
    assert {body["error_code"] for body in refused} <= {"HOLD_EXISTS", "HOLD_IN_PROGRESS"}
    assert {body["details"]["hold_id"] for body in refused if body["error_code"] == "HOLD_EXISTS"} <= {placed}
    assert await _available(inventory, listing_id) == [45]
    later = await _hold(inventory, traveler, slot_id, adults=5)
    assert (later.json()["error_code"], later.json()["details"]["hold_id"]) == ("HOLD_EXISTS", placed)


async def test_one_hold_per_traveler_counts_every_slot_of_a_day_pool(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, (morning, afternoon) = await create_day_pool_listing(inventory, provider, day_capacity=30)
    answers = await asyncio.gather(
        *(_hold(inventory, traveler, slot_id, adults=4) for slot_id in (morning, afternoon) * 3)
    )
    assert sorted(answer.status_code for answer in answers) == [201] + [409] * 5
    assert await _available(inventory, listing_id) == [26, 26]
    assert (await _hold(inventory, make_identity("traveler"), afternoon, adults=4)).status_code == 201


async def test_seats_the_platform_holds_for_a_traveler_are_not_refused_by_their_own_hold(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=10)
    own = await _hold(inventory, traveler, slot_id, adults=2)
    assert own.status_code == 201
    for_them = await inventory.client.post(
        "/internal/holds",
        json={
            "hold_id": str(uuid.uuid4()),
            "slot_id": slot_id,
            "holder_id": str(traveler.user_id),
            "adults": 3,
            "ttl_seconds": 3600,
        },
        headers=inventory.as_(make_identity("provider")),
    )
    assert for_them.status_code == 201, for_them.text
    assert await _available(inventory, listing_id) == [5]

    await inventory.client.delete(f"/holds/{own.json()['id']}", headers=inventory.as_(traveler))
    another = await _hold(inventory, traveler, slot_id, adults=1)
    assert another.status_code == 409, "the seats held for them are theirs to book from"
    assert another.json()["details"]["hold_id"] == for_them.json()["id"]


async def test_repeated_extensions_never_keep_a_hold_past_the_limit_from_its_placement(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=4, hold_ttl_seconds=60)
    placed = await _hold(inventory, traveler, slot_id, adults=4)
    hold_id = placed.json()["id"]
    limit = inventory.clock.now() + timedelta(seconds=inventory.settings.max_hold_seconds)
    refused = 0
    for _ in range(200):
        inventory.clock.advance(timedelta(seconds=30))
        extended = await inventory.client.post(f"/holds/{hold_id}/extend", headers=inventory.as_(traveler))
        if extended.status_code == 200:
            assert datetime.fromisoformat(extended.json()["expires_at"]) <= limit
        else:
            assert extended.json()["error_code"] in ("HOLD_EXTENSION_LIMIT", "HOLD_EXPIRED")
            refused += 1
        if inventory.clock.now() >= limit:
            break
    assert refused > 0
    assert inventory.clock.now() >= limit
    assert await _available(inventory, listing_id) == [4], "back on sale at the limit"
    assert (await _hold(inventory, traveler, slot_id, adults=4)).status_code == 201
