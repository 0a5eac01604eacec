"""Listings: providers create and change their own; anyone reads and searches them."""

import uuid
from datetime import timedelta

from services.inventory.tests.conftest import LISTING, Inventory, create_listing_with_slot
from shared.identity import Identity
from shared.testing import make_identity


async def test_a_provider_creates_reads_changes_and_archives_a_listing(
    inventory: Inventory, provider: Identity
) -> None:
    created = await inventory.client.post("/listings", json=LISTING, headers=inventory.as_(provider))
    assert created.status_code == 201
    listing = created.json()
    assert listing["provider_id"] == str(provider.user_id)
    assert listing["base_price"] == "40.00"

    changed = await inventory.client.patch(
        f"/listings/{listing['id']}",
        json={"base_price": "45.50", "title": "Kayak at dusk"},
        headers=inventory.as_(provider),
    )
    assert changed.status_code == 200
    assert (changed.json()["base_price"], changed.json()["title"]) == ("45.50", "Kayak at dusk")
    assert (await inventory.client.get(f"/listings/{listing['id']}")).json()["title"] == "Kayak at dusk"

    calendar = f"/listings/{listing['id']}/calendar"
    assert (await inventory.client.get(calendar, params={"year": 2031, "month": 6})).status_code == 200
    archived = await inventory.client.delete(f"/listings/{listing['id']}", headers=inventory.as_(provider))
    assert archived.status_code == 204
    assert (await inventory.client.get(f"/listings/{listing['id']}")).status_code == 404
    assert (await inventory.client.get(calendar, params={"year": 2031, "month": 6})).status_code == 404, (
        "the cached calendar went with the listing"
    )


async def test_only_the_owner_changes_a_listing_and_others_learn_nothing(
    inventory: Inventory, provider: Identity
) -> None:
    listing_id = (await inventory.client.post("/listings", json=LISTING, headers=inventory.as_(provider))).json()["id"]
    other_provider = make_identity("provider")
    for method in ("PATCH", "DELETE"):
        response = await inventory.client.request(
            method, f"/listings/{listing_id}", json={"title": "Mine now"}, headers=inventory.as_(other_provider)
        )
        assert response.status_code == 404
    traveler = make_identity("traveler")
    assert (await inventory.client.post("/listings", json=LISTING, headers=inventory.as_(traveler))).status_code == 403
    assert (await inventory.client.post("/listings", json=LISTING)).status_code == 401
    assert (await inventory.client.get(f"/listings/{listing_id}")).json()["title"] == LISTING["title"]


async def test_invalid_listings_are_422_and_create_nothing(inventory: Inventory, provider: Identity) -> None:
    marker = f"Invalid {uuid.uuid4().hex[:8]}"
    for change in (
        {"timezone": "Mars/Olympus"},
        {"base_price": "-1"},
        {"base_price": "10.123"},
        {"category": "spaceflight"},
        {"currency": "euro"},
        {"currency": "XXX"},
        {"currency": "ISK"},
        {"currency": "JPY", "base_price": "5000.50"},
        {"currency": "KWD", "base_price": "12.345"},
        {"currency": "JPY", "base_price": "5000", "pricing": {"date_overrides": {"2031-01-01": "99.5"}}},
        {"hold_ttl_seconds": 4},
    ):
        response = await inventory.client.post(
            "/listings", json=LISTING | {"title": marker} | change, headers=inventory.as_(provider)
        )
        assert response.status_code == 422, change
    found = await inventory.client.get("/listings", params={"provider_id": str(provider.user_id)})
    assert found.json()["items"] == []


async def test_search_filters_and_pages_with_a_cursor(inventory: Inventory) -> None:
    provider = make_identity("provider")
    city = f"Porto-{uuid.uuid4().hex[:6]}"
    for index in range(5):
        body = LISTING | {"city": city, "title": f"Tour {index}", "category": "tour" if index % 2 else "meal"}
        assert (await inventory.client.post("/listings", json=body, headers=inventory.as_(provider))).status_code == 201

    first = (await inventory.client.get("/listings", params={"city": city.upper(), "limit": 2})).json()
    second = (
        await inventory.client.get("/listings", params={"city": city, "limit": 2, "cursor": first["next_cursor"]})
    ).json()
    third = (
        await inventory.client.get("/listings", params={"city": city, "limit": 2, "cursor": second["next_cursor"]})
    ).json()
    titles = [item["title"] for page in (first, second, third) for item in page["items"]]
    assert titles == [f"Tour {index}" for index in range(5)]
    assert third["next_cursor"] is None
    meals = (await inventory.client.get("/listings", params={"city": city, "category": "meal"})).json()["items"]
    assert {item["title"] for item in meals} == {"Tour 0", "Tour 2", "Tour 4"}
    bad_cursor = await inventory.client.get("/listings", params={"cursor": "!!!"})
    assert bad_cursor.status_code == 422


async def test_search_by_text_price_date_and_party_size(inventory: Inventory) -> None:
    provider = make_identity("provider")
    city = f"Faro-{uuid.uuid4().hex[:6]}"
    day = (inventory.clock.now() + timedelta(days=3)).date()
    titles = {}
    for title, price, capacity in (
        ("Dolphin watching", "60.00", 12),
        ("Cave kayak 100%", "35.00", 2),
        ("Food walk", "45.00", 0),
    ):
        body = LISTING | {"city": city, "title": title, "base_price": price}
        listing_id = (await inventory.client.post("/listings", json=body, headers=inventory.as_(provider))).json()["id"]
        titles[listing_id] = title
        if capacity:
            await inventory.client.post(
                f"/listings/{listing_id}/schedules",
                json={
                    "start_time": "09:00",
                    "duration_minutes": 60,
                    "capacity": capacity,
                    "valid_from": day.isoformat(),
                },
                headers=inventory.as_(provider),
            )

    async def found(**params: str | int) -> set[str]:
        response = await inventory.client.get("/listings", params={"city": city, **params})
        assert response.status_code == 200, response.text
        return {item["title"] for item in response.json()["items"]}

    assert await found(q="KAYAK") == {"Cave kayak 100%"}
    assert await found(q="100%") == {"Cave kayak 100%"}
    assert await found(q="%") == {"Cave kayak 100%"}, "wildcards are searched for, not used"
    assert await found(min_price="40", max_price="50") == {"Food walk"}
    assert await found(date=day.isoformat()) == {"Dolphin watching", "Cave kayak 100%"}
    assert await found(date=day.isoformat(), party_size=3) == {"Dolphin watching"}
    assert await found(date=(day + timedelta(days=1)).isoformat()) == set()
    assert (await inventory.client.get("/listings", params={"party_size": 0})).status_code == 422


async def test_a_yen_listing_is_priced_in_whole_yen_wherever_a_price_is_named(
    inventory: Inventory, provider: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(
        inventory, provider, currency="jpy", base_price="5000", pricing={"child_percent": "33.33"}
    )
    listing = (await inventory.client.get(f"/listings/{listing_id}")).json()
    assert (listing["currency"], listing["base_price"]) == ("JPY", "5000")
    tomorrow = (inventory.clock.now() + timedelta(days=1)).date()
    [slot] = (
        await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": tomorrow.isoformat()})
    ).json()["slots"]
    assert slot["price"] == {"amount": "5000", "currency": "JPY"}
    quote = (
        await inventory.client.get(
            f"/listings/{listing_id}/quote", params={"slot_id": slot_id, "adults": 1, "children": 1}
        )
    ).json()["quote"]
    assert (quote["total"], quote["currency"]) == ("6667", "JPY")  # 1666.5 yen for the child: 1667

    as_owner = inventory.as_(provider)
    for path, body in (
        (f"/listings/{listing_id}", {"base_price": "5000.5"}),
        (f"/listings/{listing_id}/slots/{slot_id}", {"price_override": "4000.5"}),
        (
            f"/listings/{listing_id}/schedules",
            {
                "start_time": "15:00",
                "duration_minutes": 60,
                "recurrence": "none",
                "capacity": 4,
                "valid_from": tomorrow.isoformat(),
                "price_override": "0.5",
            },
        ),
    ):
        method = "POST" if path.endswith("schedules") else "PATCH"
        refused = await inventory.client.request(method, path, json=body, headers=as_owner)
        assert (refused.status_code, refused.json()["error_code"]) == (422, "VALIDATION_ERROR"), path
    assert (await inventory.client.get(f"/listings/{listing_id}")).json()["base_price"] == "5000"
    assert len((await inventory.client.get(f"/listings/{listing_id}/schedules", headers=as_owner)).json()) == 1
