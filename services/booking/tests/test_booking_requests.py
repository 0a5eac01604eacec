"""Booking requests on the clock and between their two sides, against the real database: the
provider is reminded after a day and warned at 46 hours, once each; unanswered at 48 hours the
request expires, and an unanswered counter-offer lapses. Each side sees only its requests and
takes only its own answers."""

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select

from services.booking.requests.models import BookingRequest
from services.booking.requests.service import handle_request_deadlines
from services.booking.tests.conftest import BookingApp
from shared.events.models import OutboxMessage
from shared.identity import Identity
from shared.testing import make_identity


async def _add_request(app: BookingApp, *, traveler: Identity, provider: Identity, **fields: Any) -> BookingRequest:
    """A request as POST /booking-requests leaves it: waiting 48 hours for its provider."""
    now = app.clock.now()
    starts_at = now + timedelta(days=5)
    columns: dict[str, Any] = {
        "id": uuid.uuid4(),
        "traveler_id": traveler.user_id,
        "traveler_email": traveler.email,
        "provider_id": provider.user_id,
        "provider_email": provider.email,
        "listing_id": uuid.uuid4(),
        "listing_title": "Private cooking class",
        "timezone": "Europe/Lisbon",
        "currency": "EUR",
        "slot_id": uuid.uuid4(),
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=2),
        "adults": 2,
        "children": 0,
        "infants": 0,
        "seats": 2,
        "contact": {"name": "Ana", "email": "ana@example.com"},
        "price_estimate": {"quote": {"total": "88.00", "currency": "EUR"}, "estimate": None},
        "status": "pending_provider",
        "requested_at": now,
        "expires_at": now + timedelta(hours=48),
    }
    booking_request = BookingRequest(**columns | fields)
    async with app.sessions() as session, session.begin():
        session.add(booking_request)
    return booking_request


async def _run_job(app: BookingApp) -> None:
    await handle_request_deadlines(app.sessions, clock=app.clock, deadlines=app.settings.request_deadlines())


async def _events(app: BookingApp, request_id: UUID) -> list[str]:
    async with app.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(OutboxMessage.event_type)
                    .where(OutboxMessage.key == str(request_id))
                    .order_by(OutboxMessage.id)
                )
            ).all()
        )


async def _status(app: BookingApp, request_id: UUID) -> str:
    async with app.sessions() as session:
        return (await session.get_one(BookingRequest, request_id)).status


async def test_the_provider_is_reminded_at_24_hours_warned_at_46_and_the_request_expires_at_48(
    booking_app: BookingApp,
) -> None:
    traveler, provider = make_identity("traveler"), make_identity("provider")
    waiting = await _add_request(booking_app, traveler=traveler, provider=provider)
    steps = [
        (timedelta(hours=23, minutes=59), []),
        (timedelta(minutes=1), ["booking_request.provider_reminded"]),
        (timedelta(hours=21, minutes=59), []),
        (timedelta(minutes=1), ["booking_request.provider_warned"]),
        (timedelta(hours=1, minutes=59), []),
        (timedelta(minutes=1), ["booking_request.expired"]),
        (timedelta(days=3), []),
    ]
    seen: list[str] = []
    for step, new_events in steps:
        booking_app.clock.advance(step)
        await _run_job(booking_app)
        await _run_job(booking_app)  # a second run at the same moment sends nothing again
        seen += new_events
        assert await _events(booking_app, waiting.id) == seen, f"after {booking_app.clock.now()}"
    assert await _status(booking_app, waiting.id) == "expired"

    read = await booking_app.client.get(f"/booking-requests/{waiting.id}", headers=booking_app.as_(traveler))
    assert (read.json()["status"], read.json()["status_reason"]) == ("expired", "the provider did not answer in time")
    too_late = await booking_app.client.post(
        f"/booking-requests/{waiting.id}/accept", headers=booking_app.as_(provider)
    )
    assert (too_late.status_code, too_late.json()["error_code"]) == (409, "INVALID_TRANSITION")


async def test_a_job_that_runs_late_sends_only_the_last_warning(booking_app: BookingApp) -> None:
    waiting = await _add_request(booking_app, traveler=make_identity("traveler"), provider=make_identity("provider"))
    booking_app.clock.advance(timedelta(hours=47))
    await _run_job(booking_app)
    assert await _events(booking_app, waiting.id) == ["booking_request.provider_warned"]


async def test_an_unanswered_counter_offer_lapses_at_its_deadline_without_reminders(booking_app: BookingApp) -> None:
    now = booking_app.clock.now()
    countered = await _add_request(
        booking_app,
        traveler=make_identity("traveler"),
        provider=make_identity("provider"),
        status="countered",
        requested_at=now - timedelta(hours=10),
        responded_at=now,
        expires_at=now + timedelta(hours=48),
        counter_slot_id=uuid.uuid4(),
        counter_starts_at=now + timedelta(days=6),
        counter_ends_at=now + timedelta(days=6, hours=2),
        counter_price=Decimal("70.00"),
        counter_message="Thursday suits us better.",
    )
    booking_app.clock.advance(timedelta(hours=47, minutes=59))
    await _run_job(booking_app)
    assert await _status(booking_app, countered.id) == "countered"
    booking_app.clock.advance(timedelta(minutes=1))
    await _run_job(booking_app)
    assert await _status(booking_app, countered.id) == "counter_lapsed"
    assert await _events(booking_app, countered.id) == ["booking_request.counter_lapsed"]


async def test_a_request_its_counter_offer_and_alternatives_show_the_listings_zone_and_local_times(
    booking_app: BookingApp,
) -> None:
    traveler, provider = make_identity("traveler"), make_identity("provider")
    now = booking_app.clock.now()
    # Kathmandu is UTC+05:45 all year: 04:15 UTC there is 10:00.
    starts_at = now.replace(day=9, hour=4, minute=15)
    countered = await _add_request(
        booking_app,
        traveler=traveler,
        provider=provider,
        timezone="Asia/Kathmandu",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        status="countered",
        responded_at=now,
        counter_slot_id=uuid.uuid4(),
        counter_starts_at=starts_at + timedelta(days=1, hours=4),
        counter_ends_at=starts_at + timedelta(days=1, hours=6),
        counter_message="The afternoon suits us better.",
    )
    declined = await _add_request(
        booking_app,
        traveler=traveler,
        provider=provider,
        timezone="Asia/Kathmandu",
        status="declined",
        responded_at=now,
        alternatives=[
            {
                "slot_id": str(uuid.uuid4()),
                "date": "2031-05-10",
                "start_time": "10:00",
                "end_time": "12:00",
                "timezone": "Asia/Kathmandu",
                "starts_at": "2031-05-10T04:15:00Z",
                "ends_at": "2031-05-10T06:15:00Z",
                "available": 4,
                "unit_price": {"amount": "44.00", "currency": "EUR"},
            }
        ],
    )

    shown = (
        await booking_app.client.get(f"/booking-requests/{countered.id}", headers=booking_app.as_(traveler))
    ).json()
    alternative = (
        await booking_app.client.get(f"/booking-requests/{declined.id}", headers=booking_app.as_(traveler))
    ).json()["alternatives"][0]

    assert (shown["timezone"], shown["local_starts_at"], shown["local_ends_at"]) == (
        "Asia/Kathmandu",
        "2031-05-09T10:00:00+05:45",
        "2031-05-09T12:00:00+05:45",
    )
    counter = shown["counter_offer"]
    assert (counter["timezone"], counter["local_starts_at"], counter["local_ends_at"]) == (
        "Asia/Kathmandu",
        "2031-05-10T14:00:00+05:45",
        "2031-05-10T16:00:00+05:45",
    )
    assert (alternative["timezone"], alternative["local_starts_at"], alternative["local_ends_at"]) == (
        "Asia/Kathmandu",
        "2031-05-10T10:00:00+05:45",
        "2031-05-10T12:00:00+05:45",
    )


async def test_each_side_sees_its_requests_and_takes_only_its_own_answers(booking_app: BookingApp) -> None:
    traveler, provider = make_identity("traveler"), make_identity("provider")
    first = await _add_request(booking_app, traveler=traveler, provider=provider)
    booking_app.clock.advance(timedelta(minutes=5))
    second = await _add_request(booking_app, traveler=traveler, provider=provider)
    path = f"/booking-requests/{first.id}"

    stranger = make_identity("provider")
    assert (await booking_app.client.get(path, headers=booking_app.as_(stranger))).status_code == 404
    for answer in ("accept", "decline", "cancel"):
        refused = await booking_app.client.post(f"{path}/{answer}", headers=booking_app.as_(stranger))
        assert refused.status_code == 404, answer
    by_traveler = await booking_app.client.post(f"{path}/accept", headers=booking_app.as_(traveler))
    assert (by_traveler.status_code, by_traveler.json()["error_code"]) == (403, "FORBIDDEN")
    by_provider = await booking_app.client.post(f"{path}/cancel", headers=booking_app.as_(provider))
    assert (by_provider.status_code, by_provider.json()["error_code"]) == (403, "FORBIDDEN")
    no_counter_yet = await booking_app.client.post(f"{path}/accept-counter", headers=booking_app.as_(traveler))
    assert (no_counter_yet.status_code, no_counter_yet.json()["error_code"]) == (409, "INVALID_TRANSITION")

    cancelled = await booking_app.client.post(
        f"{path}/cancel", json={"reason": "found another class"}, headers=booking_app.as_(traveler)
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["status_reason"]) == ("cancelled", "found another class")
    assert await _events(booking_app, first.id) == ["booking_request.cancelled"]
    again = await booking_app.client.post(f"{path}/cancel", headers=booking_app.as_(traveler))
    assert (again.status_code, again.json()["details"]) == (409, {"from": "cancelled", "action": "cancel"})

    for side in (traveler, provider):
        page = (
            await booking_app.client.get("/booking-requests", params={"limit": 1}, headers=booking_app.as_(side))
        ).json()
        assert [item["id"] for item in page["items"]] == [str(second.id)], "newest first"
        rest = await booking_app.client.get(
            "/booking-requests", params={"limit": 1, "cursor": page["next_cursor"]}, headers=booking_app.as_(side)
        )
        assert ([item["id"] for item in rest.json()["items"]], rest.json()["next_cursor"]) == ([str(first.id)], None)
    pending = await booking_app.client.get(
        "/booking-requests", params={"status": "pending_provider"}, headers=booking_app.as_(provider)
    )
    assert [item["id"] for item in pending.json()["items"]] == [str(second.id)]
    others = await booking_app.client.get("/booking-requests", headers=booking_app.as_(stranger))
    assert others.json() == {"items": [], "next_cursor": None}


async def test_a_counter_offer_priced_finer_than_the_currency_moves_is_refused_and_changes_nothing(
    booking_app: BookingApp,
) -> None:
    traveler, provider = make_identity("traveler"), make_identity("provider")
    waiting = await _add_request(
        booking_app,
        traveler=traveler,
        provider=provider,
        currency="JPY",
        price_estimate={"quote": {"total": "9000", "currency": "JPY"}, "estimate": None},
    )
    refused = await booking_app.client.post(
        f"/booking-requests/{waiting.id}/counter-offer",
        json={"price": "8000.5", "message": "A little less for you."},
        headers=booking_app.as_(provider),
    )
    assert (refused.status_code, refused.json()["error_code"]) == (422, "VALIDATION_ERROR")
    assert refused.json()["details"] == {"price": "8000.5"}
    assert await _status(booking_app, waiting.id) == "pending_provider"
