"""A booking's life after confirmation: completed once its slot ends, or marked a no-show by
its provider; every other move is refused."""

from datetime import timedelta
from uuid import UUID

from sqlalchemy import select

from services.booking.bookings.models import Booking
from services.booking.bookings.service import complete_finished_bookings
from services.booking.tests.conftest import BookingApp
from shared.events.models import OutboxMessage
from shared.testing import make_identity


async def test_confirmed_bookings_complete_once_their_slot_has_ended(booking_app: BookingApp) -> None:
    traveler, provider = make_identity("traveler"), make_identity("provider")
    soon = await booking_app.add_booking(traveler=traveler, provider=provider, starts_in=timedelta(hours=1))
    later = await booking_app.add_booking(traveler=traveler, provider=provider, starts_in=timedelta(days=1))
    unpaid = await booking_app.add_booking(
        traveler=traveler, provider=provider, starts_in=timedelta(hours=1), status="pending_payment", paid_at=None
    )
    ours = (soon.id, later.id, unpaid.id)

    booking_app.clock.advance(timedelta(hours=2, minutes=59))
    assert await complete_finished_bookings(booking_app.sessions, clock=booking_app.clock) == 0
    assert await _statuses(booking_app, ours) == ["confirmed", "confirmed", "pending_payment"]
    booking_app.clock.advance(timedelta(minutes=1))  # the first slot ends now
    assert await complete_finished_bookings(booking_app.sessions, clock=booking_app.clock) == 1
    assert await _statuses(booking_app, ours) == ["completed", "confirmed", "pending_payment"]
    assert await complete_finished_bookings(booking_app.sessions, clock=booking_app.clock) == 0
    async with booking_app.sessions() as session:
        events = (
            await session.scalars(
                select(OutboxMessage.event_type).where(OutboxMessage.key.in_([str(booking) for booking in ours]))
            )
        ).all()
    assert events == ["booking.completed"], "completed once, with one event"
    history = await booking_app.client.get(f"/bookings/{soon.id}/history", headers=booking_app.as_(traveler))
    assert [(change["action"], change["actor"]["role"]) for change in history.json()["items"]] == [
        ("completed", "system")
    ]


async def test_only_the_provider_marks_a_no_show_and_only_once_it_has_started(booking_app: BookingApp) -> None:
    traveler, provider = make_identity("traveler"), make_identity("provider")
    booking = await booking_app.add_booking(traveler=traveler, provider=provider, starts_in=timedelta(hours=1))
    path = f"/bookings/{booking.id}/no-show"

    early = await booking_app.client.post(path, headers=booking_app.as_(provider))
    assert (early.status_code, early.json()["error_code"]) == (409, "BOOKING_NOT_STARTED")
    booking_app.clock.advance(timedelta(hours=1, minutes=10))
    by_traveler = await booking_app.client.post(path, headers=booking_app.as_(traveler))
    assert (by_traveler.status_code, by_traveler.json()["error_code"]) == (403, "FORBIDDEN")
    by_stranger = await booking_app.client.post(path, headers=booking_app.as_(make_identity("provider")))
    assert by_stranger.status_code == 404
    assert await _statuses(booking_app, (booking.id,)) == ["confirmed"]

    marked = await booking_app.client.post(path, headers=booking_app.as_(provider))
    assert marked.status_code == 200, marked.text
    assert (marked.json()["status"], marked.json()["status_reason"]) == ("no_show", "the traveler did not show up")
    again = await booking_app.client.post(path, headers=booking_app.as_(provider))
    assert (again.status_code, again.json()["error_code"]) == (409, "INVALID_TRANSITION")
    assert again.json()["details"] == {"from": "no_show", "to": "no_show"}

    # The history keeps who did it and from where; only they (and ops) see the where.
    history_path = f"/bookings/{booking.id}/history"
    seen_by_provider = await booking_app.client.get(history_path, headers=booking_app.as_(provider))
    [change] = seen_by_provider.json()["items"]
    assert (change["action"], change["actor"], change["changes"], change["reason"]) == (
        "no_show",
        {"id": str(provider.user_id), "role": "provider"},
        {"status": {"from": "confirmed", "to": "no_show"}},
        "the traveler did not show up",
    )
    assert change["user_agent"].startswith("python-httpx")
    seen_by_traveler = (await booking_app.client.get(history_path, headers=booking_app.as_(traveler))).json()
    assert (seen_by_traveler["items"][0]["ip"], seen_by_traveler["items"][0]["user_agent"]) == (None, None)
    stranger = await booking_app.client.get(history_path, headers=booking_app.as_(make_identity("traveler")))
    assert stranger.status_code == 404


async def _statuses(booking_app: BookingApp, booking_ids: tuple[UUID, ...]) -> list[str]:
    async with booking_app.sessions() as session:
        rows = {
            booking.id: booking.status
            for booking in await session.scalars(select(Booking).where(Booking.id.in_(booking_ids)))
        }
    return [rows[booking_id] for booking_id in booking_ids]
