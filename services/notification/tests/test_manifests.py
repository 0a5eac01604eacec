"""Providers' daily manifests: due from 18:00 local time the evening before the day, one per
provider, zone and day whatever the number of job runs or replicas, listing the day's
bookings still standing in the listing's own time, after any change or cancellation, in
whichever order their events were read."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notification.manifests.domain import MANIFEST_LOCAL_TIME, local_day_bounds, manifest_day_due
from services.notification.manifests.service import (
    WrittenManifest,
    keep_cancelled_booking,
    keep_changed_booking,
    keep_confirmed_booking,
    write_due_manifests,
)
from shared.contracts.booking import BookingCancelled, BookingConfirmed, BookingModified
from shared.db import create_engine, create_session_factory
from shared.migrations import upgrade_to_head

ZONES = ["Europe/Lisbon", "America/Santiago", "Pacific/Chatham", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]


@given(
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    timezone=st.sampled_from(ZONES),
)
def test_a_manifest_is_due_for_tomorrow_from_six_in_the_evening_local_time(now: datetime, timezone: str) -> None:
    local = now.astimezone(ZoneInfo(timezone))
    due = manifest_day_due(now, timezone)
    if local.time() < MANIFEST_LOCAL_TIME:
        assert due is None
    else:
        assert due == local.date() + timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2031, 3, 30), 23), (date(2031, 10, 26), 25), (date(2031, 6, 1), 24)],
    ids=["clocks-go-forward", "clocks-go-back", "ordinary-day"],
)
def test_a_local_day_lasts_as_long_as_the_clocks_make_it(day: date, hours: int) -> None:
    start, end = local_day_bounds(day, "Europe/Lisbon")
    assert end - start == timedelta(hours=hours)
    assert start.astimezone(ZoneInfo("Europe/Lisbon")).time() == end.astimezone(ZoneInfo("Europe/Lisbon")).time()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(upgrade_to_head, Path("services/notification/migrations"), database_url=database_url)
    engine = create_engine(database_url=database_url, schema="notification")
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


def _confirmed(provider_id: uuid.UUID, starts_at: datetime, *, timezone: str = "Europe/Lisbon") -> BookingConfirmed:
    return BookingConfirmed(
        booking_id=uuid.uuid4(),
        reference=f"TRV-2031-{uuid.uuid4().hex[:6].upper()}",
        traveler_id=uuid.uuid4(),
        provider_id=provider_id,
        listing_id=uuid.uuid4(),
        listing_title="Sunset kayak tour\x00",
        category="tour",
        slot_id=uuid.uuid4(),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        timezone=timezone,
        seats=2,
        total=Decimal("88.00"),
        platform_fee=Decimal("13.20"),
        currency="EUR",
        contact_name="Ana",
        contact_email="ana@example.com",
        confirmed_at=starts_at - timedelta(days=5),
    )


def _cancelled(booking: BookingConfirmed) -> BookingCancelled:
    return BookingCancelled(
        **booking.model_dump(exclude={"category", "total", "platform_fee", "confirmed_at"}),
        cancelled_at=booking.starts_at - timedelta(days=2),
        cancelled_by="traveler",
        reason="plans changed",
        was_confirmed=True,
        was_paid=True,
        refund=Decimal("44.00"),
        credit=Decimal(0),
    )


_KEPT_BY_A_CHANGE = {
    "booking_id",
    "reference",
    "traveler_id",
    "provider_id",
    "listing_id",
    "contact_name",
    "contact_email",
}


def _moved(booking: BookingConfirmed, starts_at: datetime, seats: int) -> BookingModified:
    return BookingModified(
        **booking.model_dump(
            include={
                "booking_id",
                "reference",
                "traveler_id",
                "provider_id",
                "listing_id",
                "contact_name",
                "contact_email",
            }
        ),
        modification_id=uuid.uuid4(),
        listing_title=booking.listing_title,
        old_slot_id=booking.slot_id,
        slot_id=uuid.uuid4(),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        timezone=booking.timezone,
        seats=seats,
        total=Decimal("132.00"),
        difference=Decimal("44.00"),
        currency="EUR",
        modified_at=starts_at - timedelta(days=3),
        calendar_sequence=1,
    )


async def _write_due(
    sessions: async_sessionmaker[AsyncSession], now: datetime, provider_id: uuid.UUID
) -> list[WrittenManifest]:
    async with sessions.begin() as session:
        written = await write_due_manifests(session, now=now)
    return [(manifest, lines) for manifest, lines in written if manifest.provider_id == provider_id]


# Lisbon is on UTC+1 in May: 18:00 there is 17:00 UTC.
EVENING = datetime(2031, 5, 9, 17, 0, tzinfo=UTC)
TOMORROW_MORNING = datetime(2031, 5, 10, 8, 0, tzinfo=UTC)


async def test_the_manifest_of_tomorrow_lists_the_bookings_still_standing_once_it_is_due(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    provider_id = uuid.uuid4()
    early, late, cancelled, moved_away, moved_in, day_after = (
        _confirmed(provider_id, TOMORROW_MORNING + timedelta(hours=hours)) for hours in (0, 9, 1, 2, 30, 26)
    )
    async with sessions.begin() as session:
        for booking in (late, early, cancelled, moved_away, moved_in, day_after):
            await keep_confirmed_booking(session, booking)
        await keep_cancelled_booking(session, _cancelled(cancelled))
        await keep_changed_booking(session, _moved(moved_away, TOMORROW_MORNING + timedelta(days=2), seats=2))
        await keep_changed_booking(session, _moved(moved_in, TOMORROW_MORNING + timedelta(hours=3), seats=3))

    assert await _write_due(sessions, EVENING - timedelta(minutes=1), provider_id) == []
    [(manifest, lines)] = await _write_due(sessions, EVENING, provider_id)
    assert (manifest.local_date, manifest.timezone) == (date(2031, 5, 10), "Europe/Lisbon")
    assert [(line.booking_id, line.seats) for line in lines] == [
        (early.booking_id, 2),
        (moved_in.booking_id, 3),
        (late.booking_id, 2),
    ]
    assert lines[0].listing_title == "Sunset kayak tour", "a NUL in a title is dropped, not fatal"
    assert manifest.booking_ids == [line.booking_id for line in lines]
    assert await _write_due(sessions, EVENING + timedelta(hours=1), provider_id) == [], "written once"


async def test_a_cancellation_read_before_its_confirmation_keeps_the_booking_off_the_manifest(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    provider_id = uuid.uuid4()
    standing, cancelled = _confirmed(provider_id, TOMORROW_MORNING), _confirmed(provider_id, TOMORROW_MORNING)
    async with sessions.begin() as session:
        await keep_cancelled_booking(session, _cancelled(cancelled))
        for booking in (cancelled, standing, standing):
            await keep_confirmed_booking(session, booking)
    [(_, lines)] = await _write_due(sessions, EVENING, provider_id)
    assert [line.booking_id for line in lines] == [standing.booking_id]


async def test_two_replicas_due_at_once_write_one_manifest(sessions: async_sessionmaker[AsyncSession]) -> None:
    provider_id = uuid.uuid4()
    async with sessions.begin() as session:
        await keep_confirmed_booking(session, _confirmed(provider_id, TOMORROW_MORNING))
    both = await asyncio.gather(*(_write_due(sessions, EVENING, provider_id) for _ in range(2)))
    assert sorted(len(written) for written in both) == [0, 1]


async def test_a_provider_gets_one_manifest_per_zone_each_when_its_evening_comes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    provider_id = uuid.uuid4()
    async with sessions.begin() as session:
        await keep_confirmed_booking(session, _confirmed(provider_id, TOMORROW_MORNING))
        # 10:00 on the 10th in Kolkata (UTC+5:30), whose evening of the 9th began at 12:30 UTC.
        await keep_confirmed_booking(
            session, _confirmed(provider_id, datetime(2031, 5, 10, 4, 30, tzinfo=UTC), timezone="Asia/Kolkata")
        )
    [(kolkata, _)] = await _write_due(sessions, datetime(2031, 5, 9, 12, 30, tzinfo=UTC), provider_id)
    [(lisbon, _)] = await _write_due(sessions, EVENING, provider_id)
    assert [kolkata.timezone, lisbon.timezone] == ["Asia/Kolkata", "Europe/Lisbon"]
