"""Calendar feeds: a trip's, for whoever holds its token, with an event per item in the trip's
zone that changes when the item does; a provider's, of their confirmed bookings only. A bad or
rotated token is not found."""

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar, Event

from services.booking.calendars.domain import (
    event_status,
    provider_feed_token,
    provider_of_token,
    trip_events,
    trip_feed_token,
)
from services.booking.tests.conftest import BookingApp
from services.booking.tests.trip_rows import add_item, add_trip, change_item
from services.booking.trips.models import Trip
from shared.identity import Identity
from shared.testing import make_identity

LISBON = ZoneInfo("Europe/Lisbon")


def _parsed(answer: httpx.Response) -> Calendar:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(answer.content)


def _events(calendar: Calendar) -> dict[str, Event]:
    return {str(event.summary): event for event in calendar.events}


async def _feed_url(app: BookingApp, trip: Trip, owner: Identity) -> str:
    address = await app.client.get(f"/trips/{trip.id}/calendar", headers=app.as_(owner))
    assert address.status_code == 200, address.text
    url: str = address.json()["url"]
    assert url.startswith(app.settings.public_api_url)
    return url.removeprefix(app.settings.public_api_url)


async def test_a_trip_feed_has_an_event_per_item_in_the_trips_zone(booking_app: BookingApp) -> None:
    owner = make_identity("traveler")
    trip = await add_trip(booking_app, owner=owner)
    tour = await add_item(
        booking_app,
        trip,
        day=2,
        title="Alfama walking tour",
        start_time=time(10, 30),
        duration_minutes=150,
        location="Largo do Chafariz de Dentro",
        booking_status="confirmed",
    )
    await add_item(booking_app, trip, day=1, type="accommodation", title="Hotel in Baixa")
    await add_item(booking_app, trip, day=3, type="accommodation", title="Quinta in Sintra")
    await add_item(booking_app, trip, day=2, position=1, type="meal", title="Dinner", booking_status="pending")
    await add_item(booking_app, trip, day=4, title="Palace visit", booking_status="declined")
    await add_item(booking_app, trip, day=4, title="Proposed: fado night", added_by="expert", expert_id=uuid.uuid4())

    answer = await booking_app.client.get(await _feed_url(booking_app, trip, owner))  # nobody signed in
    calendar = _parsed(answer)
    assert answer.headers["cache-control"] == f"private, max-age={booking_app.settings.calendar_cache_seconds}"
    assert calendar.get("X-WR-CALNAME") == "Lisbon long weekend"
    refresh = timedelta(minutes=booking_app.settings.calendar_refresh_minutes)
    assert calendar.refresh_interval == refresh
    assert calendar.get("REFRESH-INTERVAL").params["VALUE"] == "DURATION"
    assert calendar.get("X-PUBLISHED-TTL") == "PT1H"  # the default hour
    assert [zone.get("TZID") for zone in calendar.timezones] == ["Europe/Lisbon"]

    events = _events(calendar)
    # An expert's proposal joins the calendar once the owner approves it.
    assert set(events) == {"Alfama walking tour", "Hotel in Baixa", "Quinta in Sintra", "Dinner", "Palace visit"}
    walk = events["Alfama walking tour"]
    assert walk.uid == f"{tour.id}@localhost"
    assert walk.start == datetime(2031, 6, 13, 10, 30, tzinfo=LISBON)
    assert walk.get("DTSTART").params["TZID"] == "Europe/Lisbon"
    assert walk.end == datetime(2031, 6, 13, 13, 0, tzinfo=LISBON)
    assert walk.location == "Largo do Chafariz de Dentro"
    assert walk.status == "CONFIRMED"
    # Stays without a time last all day until the next stay, the last until the trip ends.
    assert (events["Hotel in Baixa"].start, events["Hotel in Baixa"].end) == (date(2031, 6, 12), date(2031, 6, 14))
    assert (events["Quinta in Sintra"].start, events["Quinta in Sintra"].end) == (date(2031, 6, 14), date(2031, 6, 15))
    assert (events["Dinner"].start, events["Dinner"].end) == (date(2031, 6, 13), date(2031, 6, 14))
    assert events["Dinner"].status == "TENTATIVE"
    assert events["Palace visit"].status == "CANCELLED"


async def test_a_moved_or_cancelled_item_changes_its_event_and_the_feeds_etag(booking_app: BookingApp) -> None:
    owner = make_identity("traveler")
    trip = await add_trip(booking_app, owner=owner)
    tour = await add_item(
        booking_app, trip, day=2, title="Tour", start_time=time(10, 0), duration_minutes=60, booking_status="confirmed"
    )
    url = await _feed_url(booking_app, trip, owner)
    before = await booking_app.client.get(url)
    first = _events(_parsed(before))["Tour"]
    etag = before.headers["etag"]
    unchanged = await booking_app.client.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.headers["etag"] == etag

    await change_item(booking_app, tour, at=booking_app.clock.now() + timedelta(hours=1), start_time=time(15, 0))
    moved_answer = await booking_app.client.get(url, headers={"If-None-Match": etag})
    moved = _events(_parsed(moved_answer))["Tour"]
    assert moved_answer.headers["etag"] != etag
    assert moved.uid == first.uid
    assert moved.start == datetime(2031, 6, 13, 15, 0, tzinfo=LISBON)
    assert moved.sequence > first.sequence
    assert moved.last_modified > first.last_modified

    await change_item(
        booking_app,
        tour,
        at=booking_app.clock.now() + timedelta(hours=2),
        booking_status="cancelled",
        status_changed_at=booking_app.clock.now() + timedelta(hours=2),
    )
    cancelled = _events(_parsed(await booking_app.client.get(url)))["Tour"]
    assert cancelled.status == "CANCELLED"
    assert cancelled.sequence > moved.sequence


async def test_a_rotated_trip_feed_url_is_not_found_and_the_new_one_works(booking_app: BookingApp) -> None:
    owner = make_identity("traveler")
    trip = await add_trip(booking_app, owner=owner)
    await add_item(booking_app, trip, day=1, title="Tour", start_time=time(10, 0))
    old = await _feed_url(booking_app, trip, owner)
    assert await _feed_url(booking_app, trip, owner) == old, "the same URL until rotated"

    rotated = await booking_app.client.post(f"/trips/{trip.id}/calendar/rotate", headers=booking_app.as_(owner))
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["url"].removeprefix(booking_app.settings.public_api_url)
    assert new != old
    assert await _feed_url(booking_app, trip, owner) == new

    gone = await booking_app.client.get(old)
    assert gone.status_code == 404
    assert gone.json()["error_code"] == "NOT_FOUND"
    assert set(_events(_parsed(await booking_app.client.get(new)))) == {"Tour"}


async def test_a_wrong_missing_or_other_trips_token_is_not_found(booking_app: BookingApp) -> None:
    owner = make_identity("traveler")
    trip, other = await add_trip(booking_app, owner=owner), await add_trip(booking_app, owner=owner)
    other_token = (await _feed_url(booking_app, other, owner)).split("token=")[1]
    for query in (f"?token={other_token}", "?token=guess", ""):
        answer = await booking_app.client.get(f"/trips/{trip.id}/calendar.ics{query}")
        assert answer.status_code == 404
        assert answer.json()["error_code"] == "NOT_FOUND"


async def test_only_the_owner_gets_or_rotates_a_trips_feed(booking_app: BookingApp) -> None:
    owner, stranger = make_identity("traveler"), make_identity("traveler")
    trip = await add_trip(booking_app, owner=owner)
    assert (
        await booking_app.client.get(f"/trips/{trip.id}/calendar", headers=booking_app.as_(stranger))
    ).status_code == 404
    assert (
        await booking_app.client.post(f"/trips/{trip.id}/calendar/rotate", headers=booking_app.as_(stranger))
    ).status_code == 404
    url = await _feed_url(booking_app, trip, owner)
    assert (await booking_app.client.get(url)).status_code == 200, "the owner's feed is untouched"


async def test_a_provider_feed_shows_only_their_confirmed_bookings_without_contact_details(
    booking_app: BookingApp,
) -> None:
    provider, other_provider, traveler = make_identity("provider"), make_identity("provider"), make_identity("traveler")
    contact = {"name": "Ana Lima", "email": "ana.lima@example.com", "phone": "+351911111111"}
    confirmed = await booking_app.add_booking(
        traveler=traveler, provider=provider, starts_in=timedelta(days=3), contact=contact, children=1, seats=3
    )
    await booking_app.add_booking(
        traveler=traveler,
        provider=provider,
        starts_in=timedelta(days=4),
        status="pending_payment",
        paid_at=None,
        listing_title="Unpaid tour",
    )
    await booking_app.add_booking(
        traveler=traveler, provider=other_provider, starts_in=timedelta(days=3), listing_title="Someone else's tour"
    )
    await booking_app.add_booking(
        traveler=traveler,
        provider=provider,
        starts_in=timedelta(days=5),
        status="cancelled",
        cancelled_at=booking_app.clock.now() - timedelta(minutes=5),
        paid_at=booking_app.clock.now(),
        listing_title="Cancelled before it was paid",
    )
    await booking_app.add_booking(
        traveler=traveler,
        provider=provider,
        starts_in=-timedelta(days=booking_app.settings.provider_calendar_past_days + 1),
        listing_title="Long past tour",
    )

    address = await booking_app.client.get("/providers/me/calendar", headers=booking_app.as_(provider))
    assert address.status_code == 200, address.text
    answer = await booking_app.client.get(address.json()["url"].removeprefix(booking_app.settings.public_api_url))
    events = _parsed(answer).events

    assert [event.summary for event in events] == ["Sunset kayak tour"]
    [event] = events
    assert event.uid == f"{confirmed.id}@localhost"
    assert event.start == confirmed.starts_at
    assert event.get("DTSTART").params["TZID"] == "Europe/Lisbon"
    assert event.status == "CONFIRMED"
    assert event.description == f"Booking {confirmed.reference}\nLead traveler: Ana Lima\nParty: 2 adults, 1 child"
    for private in ("ana.lima@example.com", "+351911111111", str(traveler.user_id)):
        assert private not in answer.text


async def test_a_provider_feed_marks_a_booking_cancelled_after_confirmation(booking_app: BookingApp) -> None:
    provider, traveler = make_identity("provider"), make_identity("traveler")
    booking = await booking_app.add_booking(traveler=traveler, provider=provider, starts_in=timedelta(days=3))
    address = await booking_app.client.get("/providers/me/calendar", headers=booking_app.as_(provider))
    url = address.json()["url"].removeprefix(booking_app.settings.public_api_url)
    [before] = _parsed(await booking_app.client.get(url)).events

    cancelled = await booking_app.client.post(
        f"/bookings/{booking.id}/cancel", json={"reason": "weather"}, headers=booking_app.as_(provider)
    )
    assert cancelled.status_code == 200, cancelled.text
    [after] = _parsed(await booking_app.client.get(url)).events
    assert after.status == "CANCELLED"
    assert after.sequence >= before.sequence
    assert after.last_modified >= before.last_modified


async def test_a_rotated_provider_feed_url_is_not_found(booking_app: BookingApp) -> None:
    provider = make_identity("provider")
    first = await booking_app.client.get("/providers/me/calendar", headers=booking_app.as_(provider))
    assert (
        first.json()
        == (await booking_app.client.get("/providers/me/calendar", headers=booking_app.as_(provider))).json()
    )
    rotated = await booking_app.client.post("/providers/me/calendar/rotate", headers=booking_app.as_(provider))
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["token"] != first.json()["token"]

    prefix = booking_app.settings.public_api_url
    assert (await booking_app.client.get(first.json()["url"].removeprefix(prefix))).status_code == 404
    assert (await booking_app.client.get(rotated.json()["url"].removeprefix(prefix))).status_code == 200
    forged = provider_feed_token(b"not the secret", provider_id=provider.user_id, version=2)
    assert (await booking_app.client.get(f"/providers/me/calendar.ics?token={forged}")).status_code == 404
    never_asked = provider_feed_token(b"x", provider_id=uuid.uuid4(), version=1)
    assert (await booking_app.client.get(f"/providers/me/calendar.ics?token={never_asked}")).status_code == 404


@given(st.uuids(), st.integers(min_value=1, max_value=10_000), st.binary(min_size=16, max_size=64))
def test_a_feed_token_is_tied_to_its_subject_version_and_secret(
    subject: uuid.UUID, version: int, secret: bytes
) -> None:
    token = trip_feed_token(secret, trip_id=subject, version=version)
    assert token == trip_feed_token(secret, trip_id=subject, version=version)
    assert token != trip_feed_token(secret, trip_id=subject, version=version + 1)
    assert token != trip_feed_token(secret + b"!", trip_id=subject, version=version)
    provider_token = provider_feed_token(secret, provider_id=subject, version=version)
    assert provider_of_token(provider_token) == subject
    assert provider_token.split(".")[1] != token, "a trip's token is no provider's"


def test_statuses_show_as_confirmed_tentative_or_cancelled() -> None:
    assert [event_status(status) for status in ("confirmed", "completed", "no_show")] == ["CONFIRMED"] * 3
    assert [event_status(status) for status in ("unbooked", "pending_payment", "pending_provider", "accepted")] == [
        "TENTATIVE"
    ] * 4
    assert [event_status(status) for status in ("cancelled", "refunded", "expired", "payment_failed", "declined")] == [
        "CANCELLED"
    ] * 5
    assert provider_of_token("no-dot-here") is None
    assert provider_of_token(f"nothex.{'a' * 43}") is None


@dataclass(frozen=True)
class _Trip:
    start_date: date
    end_date: date


@dataclass(frozen=True)
class _Item:
    day: int
    type: str
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    title: str = "item"
    start_time: time | None = None
    duration_minutes: int | None = None
    location: str | None = None
    booking_status: str = "unbooked"
    status_changed_at: datetime | None = None
    created_at: datetime = datetime(2031, 1, 1, tzinfo=UTC)
    updated_at: datetime = datetime(2031, 1, 1, tzinfo=UTC)


@given(
    st.integers(min_value=1, max_value=20),
    st.lists(st.tuples(st.integers(min_value=1, max_value=25), st.sampled_from(["accommodation", "meal"])), max_size=8),
)
def test_untimed_stays_follow_each_other_without_overlap_and_every_day_event_lasts_a_day_or_more(
    length: int, planned: list[tuple[int, str]]
) -> None:
    trip = _Trip(start_date=date(2031, 3, 1), end_date=date(2031, 3, 1) + timedelta(days=length - 1))
    items = [_Item(day=day, type=kind) for day, kind in planned]
    events = trip_events(trip, items, zone=LISBON, host="travel.example")

    assert len(events) == len(items)
    for item, event in zip(items, events, strict=True):
        assert event.start == trip.start_date + timedelta(days=item.day - 1)
        assert isinstance(event.end, date)
        assert event.end > event.start
        if item.type == "meal":
            assert event.end == event.start + timedelta(days=1)
    stays = sorted(
        {(event.start, event.end) for item, event in zip(items, events, strict=True) if item.type == "accommodation"}
    )
    for (_, checkout), (next_checkin, _) in itertools.pairwise(stays):
        assert checkout == next_checkin, "a stay ends the day the next begins"
    if stays and stays[-1][0] < trip.end_date:
        assert stays[-1][1] == trip.end_date, "the last stay lasts until the trip ends"
