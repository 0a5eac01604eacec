"""Booking's inventory client against a real inventory app run in this process: every call it
makes answers in the contract's shapes, and inventory's refusals reach booking's caller as
inventory gave them. Here, not in booking's tests, as it runs inventory's app."""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest

from services.booking.upstreams.inventory import InventoryClient
from services.inventory.tests.conftest import Inventory, create_listing_with_slot, running_inventory
from shared.auth import ActingFor
from shared.contracts.inventory_api import PLATFORM_REFUND_TIERS, HoldPlacementFor, Party
from shared.errors import AppError
from shared.identity import Identity
from shared.testing import development_signer, make_identity


@pytest.fixture
async def inventory(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Inventory]:
    async with running_inventory(database_url, redis_url, bootstrap_servers) as running:
        yield running


def client_for(inventory: Inventory, identity: Identity) -> InventoryClient:
    """Booking's client, calling inventory on `identity`'s behalf with booking's key."""
    return InventoryClient(inventory.client, acting=ActingFor(identity, development_signer("booking")))


async def test_a_hold_is_placed_read_back_with_what_a_booking_needs_and_released(inventory: Inventory) -> None:
    provider, traveler = make_identity("provider"), make_identity("traveler")
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=4)
    client = client_for(inventory, traveler)

    placed = await client.place_hold(slot_id=uuid.UUID(slot_id), party=Party(adults=2, children=1))
    assert (placed.seats, placed.status, str(placed.listing_id)) == (3, "active", listing_id)

    hold = await client.read_hold(placed.id)
    assert (hold.id, hold.provider_id, hold.listing_title) == (placed.id, provider.user_id, "Sunset kayak tour")
    assert (hold.timezone, hold.category, hold.quote.currency) == ("Europe/Lisbon", "tour", "EUR")
    assert hold.quote.total == placed.quote.total > Decimal(0)
    assert hold.ends_at - hold.starts_at == timedelta(hours=2)
    assert hold.cancellation_policy.tiers == PLATFORM_REFUND_TIERS

    await client.release_hold(placed.id)
    assert (await client.read_hold(placed.id)).status == "released"


async def test_seats_that_are_not_there_are_refused_as_inventory_said(inventory: Inventory) -> None:
    _, slot_id = await create_listing_with_slot(inventory, make_identity("provider"), capacity=2)
    with pytest.raises(AppError) as refused:
        await client_for(inventory, make_identity("traveler")).place_hold(
            slot_id=uuid.UUID(slot_id), party=Party(adults=3)
        )
    assert (refused.value.status_code, refused.value.error_code) == (409, "SOLD_OUT")
    assert refused.value.details["requested"] == 3


async def test_another_travelers_hold_is_not_found(inventory: Inventory) -> None:
    _, slot_id = await create_listing_with_slot(inventory, make_identity("provider"))
    placed = await client_for(inventory, make_identity("traveler")).place_hold(
        slot_id=uuid.UUID(slot_id), party=Party(adults=1)
    )
    with pytest.raises(AppError) as refused:
        await client_for(inventory, make_identity("traveler")).read_hold(placed.id)
    assert (refused.value.status_code, refused.value.error_code) == (404, "NOT_FOUND")


async def test_a_hold_placed_for_a_traveler_is_placed_once_however_often_it_is_asked(inventory: Inventory) -> None:
    provider, traveler = make_identity("provider"), make_identity("traveler")
    _, slot_id = await create_listing_with_slot(inventory, provider, capacity=5, booking_mode="request")
    placement = HoldPlacementFor(
        hold_id=uuid.uuid4(),
        slot_id=uuid.UUID(slot_id),
        holder_id=traveler.user_id,
        adults=2,
        ttl_seconds=3600,
        agreed_total=Decimal("150.00"),
    )
    client = client_for(inventory, traveler)
    first, again = await client.place_hold_for(placement), await client.place_hold_for(placement)
    assert first.id == again.id == placement.hold_id
    assert (first.seats, first.quote.total, first.provider_id) == (2, Decimal("150.00"), provider.user_id)


async def test_a_slot_its_listing_and_the_open_slots_read_in_the_contracts_shapes(inventory: Inventory) -> None:
    provider = make_identity("provider")
    listing_id, slot_id = await create_listing_with_slot(
        inventory, provider, capacity=6, booking_mode="request", max_party_size=4
    )
    client = client_for(inventory, make_identity("traveler"))

    slot = await client.read_slot_for(uuid.UUID(slot_id), party=Party(adults=2))
    assert (str(slot.listing_id), slot.provider_id, slot.booking_mode) == (listing_id, provider.user_id, "request")
    assert (slot.available, slot.max_party_size, slot.on_sale) == (6, 4, True)
    assert slot.price.quote is not None
    assert slot.price.quote.currency == "EUR"

    listing = await InventoryClient(inventory.client, acting=None).read_listing(uuid.UUID(listing_id))
    assert (listing.provider_id, listing.title, listing.city, listing.max_party_size) == (
        provider.user_id,
        "Sunset kayak tour",
        "Lisbon",
        4,
    )

    day = slot.starts_at.date()
    open_slots = await client.open_slots(uuid.UUID(listing_id), first=day, last=day + timedelta(days=1), party_size=2)
    assert (open_slots.first, open_slots.last, open_slots.party_size) == (day, day + timedelta(days=1), 2)
    assert [(open.slot_id, open.available) for open in open_slots.slots] == [(uuid.UUID(slot_id), 6)]

    with pytest.raises(AppError) as missing:
        await client.read_listing(uuid.uuid4())
    assert (missing.value.status_code, missing.value.error_code) == (404, "NOT_FOUND")
