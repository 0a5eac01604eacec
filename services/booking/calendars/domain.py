"""Calendar feeds, pure: their tokens, what each trip item and booking becomes as an event,
and the VCALENDAR they make together (RFC 5545, written by `icalendar`)."""

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vDuration
from icalendar.enums import STATUS

EventStatus = Literal["CONFIRMED", "TENTATIVE", "CANCELLED"]

PRODID = "-//Travel Platform//Booking calendar feeds//EN"

# What a trip item's booking status, or a booking's status, shows as in a calendar; any other
# status (not booked yet, waiting for payment or for the provider's answer) is tentative.
_CONFIRMED = frozenset({"confirmed", "completed", "no_show"})
_CANCELLED = frozenset({"cancelled", "refunded", "expired", "payment_failed", "declined", "counter_lapsed"})

# The bookings a provider's feed shows: confirmed ones (and those that went on to happen), and
# those cancelled once confirmed, so the provider's calendar marks them cancelled.
PROVIDER_CONFIRMED_STATUSES = frozenset({"confirmed", "completed", "no_show"})
PROVIDER_CANCELLED_STATUSES = frozenset({"cancelled", "refunded"})


def event_status(status: str) -> EventStatus:
    if status in _CONFIRMED:
        return "CONFIRMED"
    if status in _CANCELLED:
        return "CANCELLED"
    return "TENTATIVE"


def _mac(secret: bytes, message: str) -> str:
    digest = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def trip_feed_token(secret: bytes, *, trip_id: UUID, version: int) -> str:
    return _mac(secret, f"trip calendar:{trip_id}:{version}")


def provider_feed_token(secret: bytes, *, provider_id: UUID, version: int) -> str:
    """The provider's id and a MAC over it and the version: the feed's URL has no other place
    to say whose feed it is."""
    return f"{provider_id.hex}.{_mac(secret, f'provider calendar:{provider_id}:{version}')}"


def provider_of_token(token: str) -> UUID | None:
    """The provider a provider feed token claims to be for (to be checked), or None if it is
    not one."""
    provider, _, mac = token.partition(".")
    if not mac:
        return None
    try:
        return UUID(hex=provider)
    except ValueError:
        return None


def same_token(expected: str, given: str) -> bool:
    """In constant time, so the answer's timing tells nothing about how much of a guess is right."""
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True)
class FeedEvent:
    uid: str
    summary: str
    # A datetime (aware, in the zone it is shown in) or, for an all-day event, a date.
    start: datetime | date
    end: datetime | date | None
    status: EventStatus
    # When it last changed: its LAST-MODIFIED and DTSTAMP, and from its creation, its SEQUENCE.
    created_at: datetime
    last_modified: datetime
    location: str | None = None
    description: str | None = None

    @property
    def sequence(self) -> int:
        """Grows with every change, so subscribed calendars take the newer version."""
        return max(int((self.last_modified - self.created_at).total_seconds()), 0)


class TripFacts(Protocol):
    @property
    def start_date(self) -> date: ...

    @property
    def end_date(self) -> date: ...


class ItemFacts(Protocol):
    @property
    def id(self) -> UUID: ...

    @property
    def day(self) -> int: ...

    @property
    def type(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def start_time(self) -> time | None: ...

    @property
    def duration_minutes(self) -> int | None: ...

    @property
    def location(self) -> str | None: ...

    @property
    def booking_status(self) -> str: ...

    @property
    def status_changed_at(self) -> datetime | None: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def updated_at(self) -> datetime: ...


def trip_events(trip: TripFacts, items: Sequence[ItemFacts], *, zone: ZoneInfo, host: str) -> list[FeedEvent]:
    """One event per item: at its time in the trip's zone, or all day when it has no time. A
    stay without a time lasts until the next stay begins, or until the trip ends."""
    stays = sorted({item.day for item in items if item.type == "accommodation" and item.start_time is None})
    events = []
    for item in items:
        day = trip.start_date + timedelta(days=item.day - 1)
        start: datetime | date
        end: datetime | date | None
        if item.start_time is not None:
            start = datetime.combine(day, item.start_time, tzinfo=zone)
            end = start + timedelta(minutes=item.duration_minutes) if item.duration_minutes else None
        elif item.type == "accommodation":
            start = day
            next_stay = next((later for later in stays if later > item.day), None)
            checkout = trip.start_date + timedelta(days=next_stay - 1) if next_stay else trip.end_date
            end = max(checkout, day + timedelta(days=1))
        else:
            start, end = day, day + timedelta(days=1)
        changed = max(item.updated_at, item.status_changed_at or item.updated_at)
        events.append(
            FeedEvent(
                uid=f"{item.id}@{host}",
                summary=item.title,
                start=start,
                end=end,
                status=event_status(item.booking_status),
                created_at=item.created_at,
                last_modified=changed,
                location=item.location,
            )
        )
    return events


class BookingFacts(Protocol):
    @property
    def id(self) -> UUID: ...

    @property
    def reference(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def listing_title(self) -> str: ...

    @property
    def timezone(self) -> str: ...

    @property
    def starts_at(self) -> datetime: ...

    @property
    def ends_at(self) -> datetime: ...

    @property
    def adults(self) -> int: ...

    @property
    def children(self) -> int: ...

    @property
    def infants(self) -> int: ...

    @property
    def contact(self) -> dict[str, Any]: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def updated_at(self) -> datetime: ...


def party_of(adults: int, children: int, infants: int) -> str:
    counts = ((adults, "adult", "adults"), (children, "child", "children"), (infants, "infant", "infants"))
    return ", ".join(f"{count} {one if count == 1 else many}" for count, one, many in counts if count)


def booking_event(booking: BookingFacts, *, host: str) -> FeedEvent:
    """A provider's booking: when, what, and for whom as far as the provider needs to know it
    (the lead traveler's name and the party), in the listing's zone: a feed's URL is handed to
    calendar apps, so the contact's email and phone stay out of it."""
    zone = ZoneInfo(booking.timezone)
    lines = [f"Booking {booking.reference}"]
    lead_traveler = booking.contact.get("name")
    if isinstance(lead_traveler, str) and lead_traveler:
        lines.append(f"Lead traveler: {lead_traveler}")
    lines.append(f"Party: {party_of(booking.adults, booking.children, booking.infants)}")
    return FeedEvent(
        uid=f"{booking.id}@{host}",
        summary=booking.listing_title,
        start=booking.starts_at.astimezone(zone),
        end=booking.ends_at.astimezone(zone),
        status=event_status(booking.status),
        created_at=booking.created_at,
        last_modified=booking.updated_at,
        description="\n".join(lines),
    )


def calendar_of(
    events: Iterable[FeedEvent], *, uid: str, name: str, refresh: timedelta, timezone: str | None = None
) -> bytes:
    """The feed: its events, the VTIMEZONE of every zone they use, and how often to fetch it
    again. The same events make the same bytes, so the feed's ETag changes only with them."""
    calendar = Calendar.new(prodid=PRODID, uid=uid, name=name)
    # RFC 7986's refresh interval, and the older property Outlook and others read instead.
    calendar.add("refresh-interval", vDuration(refresh), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(refresh))
    if timezone is not None:
        calendar.add("x-wr-timezone", timezone)
    days: list[date] = []
    for event in events:
        component = Event.new(
            uid=event.uid,
            summary=event.summary,
            start=event.start,
            end=event.end,
            stamp=event.last_modified,
            last_modified=event.last_modified,
            sequence=event.sequence,
            status=STATUS(event.status),
            location=event.location,
            description=event.description,
        )
        calendar.add_component(component)
        days.append(event.start.date() if isinstance(event.start, datetime) else event.start)
    if days:
        calendar.add_missing_timezones(
            first_date=min(days) - timedelta(days=366), last_date=max(days) + timedelta(days=366)
        )
    return bytes(calendar.to_ical())
