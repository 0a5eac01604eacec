"""A listing's pricing rules as travelers see them: in availability, in quotes, on holds."""

from datetime import timedelta

from services.inventory.tests.conftest import LISTING, Inventory, create_listing_with_slot
from shared.identity import Identity

SUMMER_PRICING = {
    "tax_percent": "10",
    "child_percent": "50",
    "child_under_age": 14,
    "seasons": [{"name": "spring", "start_date": "2031-05-01", "end_date": "2031-05-31", "multiplier": "1.25"}],
    "group_tiers": [{"min_people": 4, "percent_off": "10"}],
}


async def test_availability_quotes_and_holds_price_a_party_the_same_way(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, pricing=SUMMER_PRICING)
    day = (inventory.clock.now() + timedelta(days=1)).date().isoformat()
    shown = (await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": day})).json()
    assert shown["slots"][0]["price"] == {"amount": "50.00", "currency": "EUR"}, "40.00 x 1.25 in spring"

    quoted = await inventory.client.get(
        f"/listings/{listing_id}/quote", params={"slot_id": slot_id, "adults": 2, "children": 2}
    )
    assert quoted.status_code == 200, quoted.text
    quote = quoted.json()["quote"]
    assert quote["basis"] == "season:spring"
    assert [(line["kind"], line["amount"]) for line in quote["lines"]] == [
        ("adult", "100.00"),
        ("child", "50.00"),
        ("group_discount", "-15.00"),
    ]
    assert (quote["subtotal"], quote["taxes"], quote["total"]) == ("135.00", "13.50", "148.50")

    # The same party given by age: 13 is still a child under this listing's bands.
    hold = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "ages": [41, 39, 13, 9]}, headers=inventory.as_(traveler)
    )
    assert hold.status_code == 201, hold.text
    assert (hold.json()["adults"], hold.json()["children"], hold.json()["seats"]) == (2, 2, 4)
    assert hold.json()["quote"] == quote


async def test_a_hold_by_ages_needs_an_adult_and_not_both_forms(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    _, slot_id = await create_listing_with_slot(inventory, provider)
    only_children = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "ages": [8, 1]}, headers=inventory.as_(traveler)
    )
    assert only_children.status_code == 422
    assert only_children.json()["error_code"] == "VALIDATION_ERROR"
    both = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "ages": [30], "adults": 1}, headers=inventory.as_(traveler)
    )
    assert both.status_code == 422


async def test_a_quote_only_listing_shows_an_estimate_and_cannot_be_instant(
    inventory: Inventory, provider: Identity
) -> None:
    estimate = {"quote_only": True, "estimate": {"min": "200", "max": "450"}}
    refused = await inventory.client.post(
        "/listings", json=LISTING | {"pricing": estimate}, headers=inventory.as_(provider)
    )
    assert refused.status_code == 422
    listing_id, slot_id = await create_listing_with_slot(
        inventory, provider, booking_mode="request", pricing=estimate | {"tax_percent": "0"}
    )
    day = (inventory.clock.now() + timedelta(days=1)).date().isoformat()
    shown = (await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": day})).json()
    assert shown["slots"][0]["price"] is None
    assert shown["slots"][0]["estimate"] == {"min": "200.00", "max": "450.00", "currency": "EUR"}
    quoted = await inventory.client.get(f"/listings/{listing_id}/quote", params={"slot_id": slot_id, "adults": 2})
    assert quoted.json() == {
        "quote": None,
        "estimate": {"min_total": "400.00", "max_total": "900.00", "currency": "EUR"},
    }
    switched = await inventory.client.patch(
        f"/listings/{listing_id}", json={"booking_mode": "instant"}, headers=inventory.as_(provider)
    )
    assert switched.status_code == 422
    assert switched.json()["error_code"] == "VALIDATION_ERROR"


async def test_a_date_override_and_a_slot_override_take_precedence(inventory: Inventory, provider: Identity) -> None:
    tomorrow = (inventory.clock.now() + timedelta(days=1)).date().isoformat()
    pricing = SUMMER_PRICING | {"date_overrides": {tomorrow: "75.00"}}
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, pricing=pricing)
    quoted = await inventory.client.get(f"/listings/{listing_id}/quote", params={"slot_id": slot_id})
    assert (quoted.json()["quote"]["basis"], quoted.json()["quote"]["subtotal"]) == ("date_override", "75.00")
    changed = await inventory.client.patch(
        f"/listings/{listing_id}/slots/{slot_id}", json={"price_override": "12.50"}, headers=inventory.as_(provider)
    )
    assert changed.status_code == 200, changed.text
    quoted = await inventory.client.get(f"/listings/{listing_id}/quote", params={"slot_id": slot_id})
    assert (quoted.json()["quote"]["basis"], quoted.json()["quote"]["subtotal"]) == ("slot_override", "12.50")
