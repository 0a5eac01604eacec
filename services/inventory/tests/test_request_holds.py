"""What booking asks of inventory for requests to book: a slot checked for a party, the open
slots of a listing over days, and seats held for a traveler once a provider accepts (any
booking mode, the caller's TTL, an agreed price), placed once however often it is asked."""

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.inventory.pricing.domain import Quote, QuoteLine, agreed_quote
from services.inventory.tests.conftest import LISTING, Inventory, create_listing_with_slot
from shared.identity import Identity
from shared.testing import make_identity

REQUEST_MODE: dict[str, Any] = {"booking_mode": "request", "title": "Private cooking class"}
QUOTE_ONLY: dict[str, Any] = REQUEST_MODE | {
    "pricing": {"quote_only": True, "estimate": {"min": "30.00", "max": "60.00"}}
}


async def _available(inventory: Inventory, listing_id: str) -> int:
    tomorrow = (inventory.clock.now() + timedelta(days=1)).date().isoformat()
    response = await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": tomorrow})
    slots = response.json()["slots"]
    return int(slots[0]["available"]) if slots else 0


async def _hold_for(
    inventory: Inventory, traveler: Identity, slot_id: str, *, hold_id: uuid.UUID | None = None, **fields: Any
) -> httpx.Response:
    body = {
        "hold_id": str(hold_id or uuid.uuid4()),
        "slot_id": slot_id,
        "holder_id": str(traveler.user_id),
        "adults": 2,
        "ttl_seconds": 3600,
    }
    return await inventory.client.post(
        "/internal/holds", json=body | fields, headers=inventory.as_(make_identity("provider"))
    )


async def test_seats_are_held_for_the_traveler_of_a_request_listing_for_the_callers_ttl(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=5, **REQUEST_MODE)
    refused = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "adults": 2}, headers=inventory.as_(traveler)
    )
    assert (refused.status_code, refused.json()["error_code"]) == (409, "NOT_INSTANT_BOOKABLE")

    placed = await _hold_for(inventory, traveler, slot_id)
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    assert (hold["seats"], hold["status"], hold["provider_id"]) == (2, "active", str(provider.user_id))
    assert hold["listing_title"] == "Private cooking class"
    assert hold["expires_at"].startswith((inventory.clock.now() + timedelta(hours=1)).isoformat()[:19])
    assert Decimal(hold["quote"]["total"]) == Decimal("88.00")
    assert await _available(inventory, listing_id) == 3
    # The hold is the traveler's: they read it (and book from it) like any other.
    read = await inventory.client.get(f"/holds/{hold['id']}", headers=inventory.as_(traveler))
    assert read.status_code == 200


async def test_asking_again_for_the_same_hold_gets_it_and_takes_the_seats_once(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=5, **REQUEST_MODE)
    hold_id = uuid.uuid4()
    answers = await asyncio.gather(*(_hold_for(inventory, traveler, slot_id, hold_id=hold_id) for _ in range(4)))
    assert {answer.status_code for answer in answers} == {201}
    assert {answer.json()["id"] for answer in answers} == {str(hold_id)}
    assert await _available(inventory, listing_id) == 3
    someone_else = await _hold_for(inventory, make_identity("traveler"), slot_id, hold_id=hold_id)
    assert (someone_else.status_code, someone_else.json()["error_code"]) == (409, "HOLD_ID_TAKEN")


async def test_an_agreed_price_replaces_the_total_with_a_line_for_the_difference(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    _, slot_id = await create_listing_with_slot(inventory, provider, **REQUEST_MODE)
    placed = await _hold_for(inventory, traveler, slot_id, agreed_total="75.50")
    assert placed.status_code == 201, placed.text
    quote = placed.json()["quote"]
    assert [(line["kind"], Decimal(line["amount"])) for line in quote["lines"]] == [
        ("adult", Decimal("80.00")),
        ("agreed_adjustment", Decimal("-12.50")),
    ]
    assert (Decimal(quote["subtotal"]), Decimal(quote["taxes"]), Decimal(quote["total"])) == (
        Decimal("67.50"),
        Decimal("8.00"),
        Decimal("75.50"),
    )
    assert quote["basis"] == "agreed"


async def test_a_listing_priced_case_by_case_is_held_only_at_an_agreed_price(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    _, slot_id = await create_listing_with_slot(inventory, provider, **QUOTE_ONLY)
    unpriced = await _hold_for(inventory, traveler, slot_id)
    assert (unpriced.status_code, unpriced.json()["error_code"]) == (409, "QUOTE_ONLY")
    priced = await _hold_for(inventory, traveler, slot_id, agreed_total="140.00")
    assert priced.status_code == 201, priced.text
    assert [(line["kind"], line["amount"]) for line in priced.json()["quote"]["lines"]] == [("agreed_price", "140.00")]


async def test_a_hold_for_more_seats_than_are_left_is_sold_out(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=3, **REQUEST_MODE)
    assert (await _hold_for(inventory, traveler, slot_id, adults=2)).status_code == 201
    refused = await _hold_for(inventory, make_identity("traveler"), slot_id, adults=2)
    assert (refused.status_code, refused.json()["error_code"]) == (409, "SOLD_OUT")
    assert refused.json()["details"] == {"slot_id": slot_id, "available": 1, "requested": 2}
    assert await _available(inventory, listing_id) == 1


@pytest.mark.parametrize("ttl_seconds", [59, 7 * 86_400 + 1])
async def test_a_hold_ttl_outside_a_minute_to_a_week_is_refused(
    inventory: Inventory, provider: Identity, traveler: Identity, ttl_seconds: int
) -> None:
    _, slot_id = await create_listing_with_slot(inventory, provider, **REQUEST_MODE)
    refused = await _hold_for(inventory, traveler, slot_id, ttl_seconds=ttl_seconds)
    assert (refused.status_code, refused.json()["error_code"]) == (422, "VALIDATION_ERROR")


async def test_internal_routes_need_a_verified_caller(inventory: Inventory, provider: Identity) -> None:
    _, slot_id = await create_listing_with_slot(inventory, provider, **REQUEST_MODE)
    hold = await inventory.client.post(
        "/internal/holds",
        json={"hold_id": str(uuid.uuid4()), "slot_id": slot_id, "holder_id": str(uuid.uuid4()), "ttl_seconds": 60},
    )
    assert hold.status_code == 401
    assert (await inventory.client.get(f"/internal/slots/{slot_id}")).status_code == 401


async def test_a_slot_is_described_for_a_request_with_its_provider_seats_and_price(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=6, **REQUEST_MODE)
    answer = await inventory.client.get(
        f"/internal/slots/{slot_id}", params={"adults": 2, "children": 1}, headers=inventory.as_(traveler)
    )
    assert answer.status_code == 200, answer.text
    slot = answer.json()
    assert (slot["listing_id"], slot["provider_id"], slot["provider_email"]) == (
        listing_id,
        str(provider.user_id),
        provider.email,
    )
    assert (slot["booking_mode"], slot["on_sale"], slot["available"], slot["start_time"]) == (
        "request",
        True,
        6,
        "10:00",
    )
    assert Decimal(slot["price"]["quote"]["total"]) == Decimal("118.80")

    estimated = await create_listing_with_slot(inventory, provider, **QUOTE_ONLY)
    priced_on_request = await inventory.client.get(
        f"/internal/slots/{estimated[1]}", params={"adults": 2}, headers=inventory.as_(traveler)
    )
    assert priced_on_request.json()["price"]["quote"] is None
    assert priced_on_request.json()["price"]["estimate"]["min_total"] == "60.00"
    unknown = await inventory.client.get(f"/internal/slots/{uuid.uuid4()}", headers=inventory.as_(traveler))
    assert unknown.status_code == 404


async def test_open_slots_over_days_list_those_with_seats_for_the_party(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing = await inventory.client.post("/listings", json=LISTING | REQUEST_MODE, headers=inventory.as_(provider))
    listing_id = listing.json()["id"]
    first = (inventory.clock.now() + timedelta(days=1)).date()
    schedule = await inventory.client.post(
        f"/listings/{listing_id}/schedules",
        json={
            "start_time": "10:00",
            "duration_minutes": 90,
            "recurrence": "daily",
            "capacity": 4,
            "valid_from": first.isoformat(),
        },
        headers=inventory.as_(provider),
    )
    assert schedule.status_code == 201, schedule.text
    slots = await inventory.client.get(
        f"/listings/{listing_id}/open-slots",
        params={"from": first.isoformat(), "to": (first + timedelta(days=2)).isoformat(), "party_size": 3},
    )
    assert slots.status_code == 200, slots.text
    days = slots.json()["slots"]
    assert [slot["date"] for slot in days] == [(first + timedelta(days=n)).isoformat() for n in range(3)]
    assert (slots.json()["from"], slots.json()["to"]) == (first.isoformat(), (first + timedelta(days=2)).isoformat())

    # Three of the first day's four seats held: that day no longer fits a party of three.
    assert (await _hold_for(inventory, traveler, days[0]["slot_id"], adults=3)).status_code == 201
    fitting = await inventory.client.get(
        f"/listings/{listing_id}/open-slots",
        params={"from": first.isoformat(), "to": (first + timedelta(days=2)).isoformat(), "party_size": 3},
    )
    assert [slot["date"] for slot in fitting.json()["slots"]] == [days[1]["date"], days[2]["date"]]
    too_long = await inventory.client.get(
        f"/listings/{listing_id}/open-slots",
        params={"from": first.isoformat(), "to": (first + timedelta(days=31)).isoformat()},
    )
    assert (too_long.status_code, too_long.json()["error_code"]) == (422, "VALIDATION_ERROR")


def test_an_agreed_price_keeps_the_lines_adding_up_to_the_total() -> None:
    listed = Quote(
        currency="EUR",
        basis="base",
        lines=(QuoteLine("adult", 2, Decimal("40.00"), Decimal("80.00")),),
        subtotal=Decimal("80.00"),
        taxes=Decimal("8.00"),
        total=Decimal("88.00"),
    )
    for total in (Decimal("1.00"), Decimal("88.00"), Decimal("120.45")):
        agreed = agreed_quote(total, currency="EUR", listed=listed)
        assert agreed.total == total
        assert sum(line.amount for line in agreed.lines) == agreed.subtotal
        assert agreed.subtotal + agreed.taxes == agreed.total
