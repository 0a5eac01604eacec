"""Sharing a trip: the owner makes a link (a new one revokes the last, and it can be revoked),
whoever holds it reads the plan day by day, without whose it is, how it was booked or paid, and
without prices if the owner says so."""

import hashlib
import uuid
from datetime import time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.booking.tests.conftest import BookingApp
from services.booking.tests.trip_rows import add_item, add_trip
from services.booking.trips.models import Trip
from shared.testing import make_identity


async def _planned_trip(app: BookingApp) -> tuple[Any, Trip]:
    owner = make_identity("traveler")
    trip = await add_trip(app, owner=owner)
    await add_item(
        app,
        trip,
        day=1,
        title="Alfama walking tour",
        start_time=time(10, 30),
        duration_minutes=150,
        location="Largo do Chafariz de Dentro",
        notes="Guide's phone +351 900 000 000, ask for Rui",
        price=Decimal("45.5"),
        currency="EUR",
        price_is_estimate=False,
        booking_mode="instant",
        listing_id=uuid.uuid4(),
        slot_id=uuid.uuid4(),
        booking_id=uuid.uuid4(),
        cart_item_id=uuid.uuid4(),
        booking_status="confirmed",
    )
    await add_item(
        app,
        trip,
        day=1,
        position=1,
        type="meal",
        title="Dinner in Bairro Alto",
        added_by="expert",
        expert_id=uuid.uuid4(),
        handoff_id=uuid.uuid4(),
        approved_at=app.clock.now(),
        price=Decimal("60"),
        currency="EUR",
    )
    await add_item(app, trip, day=3, type="transport", title="Train to Sintra", start_time=time(9, 15))
    return owner, trip


def _expected_view(*, prices: bool) -> dict[str, Any]:
    return {
        "title": "Lisbon long weekend",
        "destinations": ["Lisbon", "Sintra"],
        "start_date": "2031-06-12",
        "end_date": "2031-06-15",
        "timezone": "Europe/Lisbon",
        "status": "confirmed",
        "prices_shown": prices,
        "days": [
            {
                "day": 1,
                "date": "2031-06-12",
                "items": [
                    {
                        "type": "activity",
                        "title": "Alfama walking tour",
                        "start_time": "10:30:00",
                        "duration_minutes": 150,
                        "location": "Largo do Chafariz de Dentro",
                        "booking_status": "confirmed",
                        "price": {"amount": "45.50", "currency": "EUR", "is_estimate": False} if prices else None,
                    },
                    {
                        "type": "meal",
                        "title": "Dinner in Bairro Alto",
                        "start_time": None,
                        "duration_minutes": None,
                        "location": None,
                        "booking_status": "unbooked",
                        "price": {"amount": "60.00", "currency": "EUR", "is_estimate": True} if prices else None,
                    },
                ],
            },
            {"day": 2, "date": "2031-06-13", "items": []},
            {
                "day": 3,
                "date": "2031-06-14",
                "items": [
                    {
                        "type": "transport",
                        "title": "Train to Sintra",
                        "start_time": "09:15:00",
                        "duration_minutes": None,
                        "location": None,
                        "booking_status": "unbooked",
                        "price": None,
                    }
                ],
            },
            {"day": 4, "date": "2031-06-15", "items": []},
        ],
    }


async def test_a_share_link_shows_the_plan_by_day_and_nothing_of_who_booked_or_paid(booking_app: BookingApp) -> None:
    owner, trip = await _planned_trip(booking_app)

    shared = await booking_app.client.post(f"/trips/{trip.id}/share", headers=booking_app.as_(owner))
    assert shared.status_code == 201, shared.text
    token = shared.json()["token"]
    assert shared.json()["url"] == f"{booking_app.settings.public_api_url}/shared/trips/{token}"
    assert shared.json()["show_prices"] is True

    view = await booking_app.client.get(f"/shared/trips/{token}")  # nobody signed in
    assert view.status_code == 200, view.text
    assert view.json() == _expected_view(prices=True)
    for secret in (owner.email, str(owner.user_id), "+351", "pi_", str(trip.id)):
        assert secret not in view.text


async def test_an_experts_proposal_is_not_shared_until_the_owner_approves_it(booking_app: BookingApp) -> None:
    owner, trip = await _planned_trip(booking_app)
    await add_item(
        booking_app,
        trip,
        day=2,
        type="activity",
        title="Proposed: tile museum",
        added_by="expert",
        expert_id=uuid.uuid4(),
        handoff_id=uuid.uuid4(),
    )
    shared = await booking_app.client.post(f"/trips/{trip.id}/share", headers=booking_app.as_(owner))

    view = await booking_app.client.get(f"/shared/trips/{shared.json()['token']}")

    assert view.status_code == 200, view.text
    assert "tile museum" not in view.text
    assert view.json()["status"] == "expert_review", "the trip says it is still being planned"


async def test_prices_are_left_out_when_the_owner_shares_without_them(booking_app: BookingApp) -> None:
    owner, trip = await _planned_trip(booking_app)

    shared = await booking_app.client.post(
        f"/trips/{trip.id}/share", json={"show_prices": False}, headers=booking_app.as_(owner)
    )
    assert shared.status_code == 201, shared.text
    assert shared.json()["show_prices"] is False

    view = await booking_app.client.get(f"/shared/trips/{shared.json()['token']}")
    assert view.json() == _expected_view(prices=False)
    assert "45.5" not in view.text
    assert "60.00" not in view.text


async def test_only_the_tokens_hash_is_kept_and_a_new_share_revokes_the_last(booking_app: BookingApp) -> None:
    owner, trip = await _planned_trip(booking_app)
    first = (await booking_app.client.post(f"/trips/{trip.id}/share", headers=booking_app.as_(owner))).json()
    second = (await booking_app.client.post(f"/trips/{trip.id}/share", headers=booking_app.as_(owner))).json()
    assert first["token"] != second["token"]
    assert len(second["token"]) >= 43  # 32 random bytes

    async with booking_app.sessions() as session:
        stored = await session.scalar(select(Trip.share_token_hash).where(Trip.id == trip.id))
    assert stored == hashlib.sha256(second["token"].encode()).hexdigest()

    gone = await booking_app.client.get(f"/shared/trips/{first['token']}")
    assert gone.status_code == 404
    assert gone.json()["error_code"] == "NOT_FOUND"
    assert (await booking_app.client.get(f"/shared/trips/{second['token']}")).status_code == 200


async def test_a_revoked_or_unknown_link_is_not_found(booking_app: BookingApp) -> None:
    owner, trip = await _planned_trip(booking_app)
    token = (await booking_app.client.post(f"/trips/{trip.id}/share", headers=booking_app.as_(owner))).json()["token"]

    revoked = await booking_app.client.delete(f"/trips/{trip.id}/share", headers=booking_app.as_(owner))
    assert revoked.status_code == 204

    for unknown in (token, "not-a-token", token[:-1]):
        answer = await booking_app.client.get(f"/shared/trips/{unknown}")
        assert answer.status_code == 404
        assert answer.json()["error_code"] == "NOT_FOUND"
        assert answer.json()["request_id"]


async def test_a_deleted_trips_link_leads_nowhere(booking_app: BookingApp) -> None:
    owner, trip = await _planned_trip(booking_app)
    token = (await booking_app.client.post(f"/trips/{trip.id}/share", headers=booking_app.as_(owner))).json()["token"]
    async with booking_app.sessions() as session, session.begin():
        (await session.get_one(Trip, trip.id)).deleted_at = booking_app.clock.now() + timedelta(minutes=1)

    assert (await booking_app.client.get(f"/shared/trips/{token}")).status_code == 404
    again = await booking_app.client.post(f"/trips/{trip.id}/share", headers=booking_app.as_(owner))
    assert again.status_code == 404


async def test_only_the_owner_shares_or_revokes(booking_app: BookingApp) -> None:
    owner, trip = await _planned_trip(booking_app)
    token = (await booking_app.client.post(f"/trips/{trip.id}/share", headers=booking_app.as_(owner))).json()["token"]
    stranger = make_identity("traveler")

    assert (
        await booking_app.client.post(f"/trips/{trip.id}/share", headers=booking_app.as_(stranger))
    ).status_code == 404
    assert (
        await booking_app.client.delete(f"/trips/{trip.id}/share", headers=booking_app.as_(stranger))
    ).status_code == 404
    provider = make_identity("provider")
    assert (
        await booking_app.client.post(f"/trips/{trip.id}/share", headers=booking_app.as_(provider))
    ).status_code == 403
    assert (await booking_app.client.get(f"/shared/trips/{token}")).status_code == 200, "the owner's link still works"
