"""Fair use on booking's side, against the real database and a real inventory app, each run in
this process: a listing's largest party for requests and waitlist entries; one open request per
slot and a cap on open requests per traveler, counted one after the other under concurrency; one
waitlist entry per traveler per day; answers to a request written to the account, not the typed
contact. Here, not in booking's tests, as it runs inventory's app beside booking's."""

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.booking.requests.models import BookingRequest
from services.booking.requests.schemas import BookingRequestCreate
from services.booking.requests.service import cancel_request, create_request
from services.booking.tests.conftest import BookingApp, running_booking
from services.booking.upstreams.inventory import InventoryClient
from services.booking.waitlist.models import WaitlistEntry
from services.booking.waitlist.schemas import WaitlistJoin
from services.booking.waitlist.service import join_waitlist
from services.inventory.tests.conftest import LISTING, Inventory, running_inventory
from shared.auth import ActingFor
from shared.errors import AppError
from shared.events.models import OutboxMessage
from shared.identity import Identity
from shared.testing import development_signer, make_identity

TYPED_CONTACT = {"name": "Someone", "email": "someone-else@example.com"}


@pytest.fixture
async def booking_app(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[BookingApp]:
    async with running_booking(database_url, redis_url, bootstrap_servers) as running:
        yield running


@pytest.fixture
async def inventory(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Inventory]:
    async with running_inventory(database_url, redis_url, bootstrap_servers) as running:
        yield running


async def _listing(inventory: Inventory, *, days: int = 1, **fields: Any) -> tuple[str, list[str]]:
    """A listing running daily at 10:00 from tomorrow for `days` days: (id, slot ids by day)."""
    provider = make_identity("provider")
    created = await inventory.client.post("/listings", json=LISTING | fields, headers=inventory.as_(provider))
    assert created.status_code == 201, created.text
    listing_id = created.json()["id"]
    first = (inventory.clock.now() + timedelta(days=1)).date()
    schedule = await inventory.client.post(
        f"/listings/{listing_id}/schedules",
        json={
            "start_time": "10:00",
            "duration_minutes": 60,
            "recurrence": "daily",
            "capacity": 30,
            "valid_from": first.isoformat(),
            "valid_until": (first + timedelta(days=days - 1)).isoformat(),
        },
        headers=inventory.as_(provider),
    )
    assert schedule.status_code == 201, schedule.text
    slot_ids = []
    for offset in range(days):
        day = (first + timedelta(days=offset)).isoformat()
        availability = await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": day})
        slot_ids += [slot["slot_id"] for slot in availability.json()["slots"]]
    return listing_id, slot_ids


async def _ask(
    app: BookingApp, inventory: Inventory, traveler: Identity, slot_id: str, *, max_open: int = 5, adults: int = 2
) -> BookingRequest:
    async with app.sessions() as session:
        return await create_request(
            session,
            traveler=traveler,
            request=BookingRequestCreate.model_validate(
                {"slot_id": slot_id, "adults": adults, "contact": TYPED_CONTACT}
            ),
            inventory=InventoryClient(inventory.client, acting=ActingFor(traveler, development_signer("booking"))),
            deadlines=app.settings.request_deadlines(),
            max_open_requests=max_open,
            clock=app.clock,
        )


async def _refusal(call: Any) -> AppError:
    with pytest.raises(AppError) as refused:
        await call
    return refused.value


async def test_a_request_for_a_party_above_the_listings_limit_is_refused(
    booking_app: BookingApp, inventory: Inventory
) -> None:
    traveler = make_identity("traveler")
    _, (slot_id,) = await _listing(inventory, booking_mode="request", max_party_size=4)
    refused = await _refusal(_ask(booking_app, inventory, traveler, slot_id, adults=5))
    assert (refused.status_code, refused.error_code) == (422, "PARTY_TOO_LARGE")
    assert refused.details == {"max_party_size": 4, "requested": 5}
    assert (await _ask(booking_app, inventory, traveler, slot_id, adults=4)).status == "pending_provider"


async def test_a_traveler_has_one_open_request_per_slot_and_at_most_the_cap_in_all(
    booking_app: BookingApp, inventory: Inventory
) -> None:
    traveler = make_identity("traveler")
    _, slots = await _listing(inventory, days=4, booking_mode="request")
    first = await _ask(booking_app, inventory, traveler, slots[0], max_open=2)

    twice = await _refusal(_ask(booking_app, inventory, traveler, slots[0], max_open=2))
    assert (twice.status_code, twice.error_code) == (409, "REQUEST_EXISTS")
    assert twice.details["request_id"] == str(first.id)

    await _ask(booking_app, inventory, traveler, slots[1], max_open=2)
    over = await _refusal(_ask(booking_app, inventory, traveler, slots[2], max_open=2))
    assert (over.status_code, over.error_code) == (409, "TOO_MANY_OPEN_REQUESTS")
    assert over.details["limit"] == 2
    assert (await _ask(booking_app, inventory, make_identity("traveler"), slots[2], max_open=2)).status == (
        "pending_provider"
    ), "the cap is per traveler"

    async with booking_app.sessions() as session:
        await cancel_request(session, request_id=first.id, traveler=traveler, reason=None, clock=booking_app.clock)
    assert (await _ask(booking_app, inventory, traveler, slots[2], max_open=2)).status == "pending_provider"


async def test_concurrent_requests_of_one_traveler_stop_at_the_cap(
    booking_app: BookingApp, inventory: Inventory
) -> None:
    traveler = make_identity("traveler")
    _, slots = await _listing(inventory, days=8, booking_mode="request")
    answers = await asyncio.gather(
        *(_ask(booking_app, inventory, traveler, slot_id, max_open=3) for slot_id in slots), return_exceptions=True
    )
    made = [answer for answer in answers if isinstance(answer, BookingRequest)]
    refused = [answer.error_code for answer in answers if isinstance(answer, AppError)]
    assert len(made) == 3
    assert refused == ["TOO_MANY_OPEN_REQUESTS"] * 5
    async with booking_app.sessions() as session:
        kept = await session.scalars(select(BookingRequest).where(BookingRequest.traveler_id == traveler.user_id))
        assert len(kept.all()) == 3


async def test_answers_to_a_request_are_addressed_to_the_account_not_the_typed_contact(
    booking_app: BookingApp, inventory: Inventory
) -> None:
    traveler = make_identity("traveler")
    _, (slot_id,) = await _listing(inventory, booking_mode="request")
    asked = await _ask(booking_app, inventory, traveler, slot_id)
    assert asked.contact["email"] == TYPED_CONTACT["email"], "kept for the provider"
    async with booking_app.sessions() as session:
        created = await session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.key == str(asked.id), OutboxMessage.event_type == "booking_request.created"
            )
        )
    assert created is not None
    payload = created.envelope["payload"]
    assert payload["traveler_email"] == traveler.email
    assert payload["contact_email"] == TYPED_CONTACT["email"]


async def _join(
    app: BookingApp, inventory: Inventory, traveler: Identity, listing_id: str, day: date, party_size: int
) -> WaitlistEntry:
    async with app.sessions() as session:
        return await join_waitlist(
            session,
            traveler=traveler,
            request=WaitlistJoin.model_validate({"listing_id": listing_id, "date": day, "party_size": party_size}),
            inventory=InventoryClient(inventory.client, acting=None),
            clock=app.clock,
        )


async def test_a_traveler_waits_once_per_listing_and_day_within_the_party_limit(
    booking_app: BookingApp, inventory: Inventory
) -> None:
    traveler = make_identity("traveler")
    listing_id, _ = await _listing(inventory, days=2, max_party_size=6)
    day = (booking_app.clock.now() + timedelta(days=1)).date()

    too_many = await _refusal(_join(booking_app, inventory, traveler, listing_id, day, 7))
    assert (too_many.status_code, too_many.error_code) == (422, "PARTY_TOO_LARGE")

    answers = await asyncio.gather(
        *(_join(booking_app, inventory, traveler, listing_id, day, 2) for _ in range(6)), return_exceptions=True
    )
    entries = [answer for answer in answers if isinstance(answer, WaitlistEntry)]
    refused = [answer for answer in answers if isinstance(answer, AppError)]
    assert len(entries) == 1, answers
    assert {(error.status_code, error.error_code) for error in refused} == {(409, "WAITLIST_ENTRY_EXISTS")}
    assert {error.details["entry"]["id"] for error in refused} == {str(entries[0].id)}

    again = await _refusal(_join(booking_app, inventory, traveler, listing_id, day, 1))
    assert again.details["entry"]["party_size"] == 2
    assert (await _join(booking_app, inventory, traveler, listing_id, day + timedelta(days=1), 2)).party_size == 2
    assert (await _join(booking_app, inventory, make_identity("traveler"), listing_id, day, 2)).party_size == 2
