"""What each kind of notification that goes by SMS says: one short text per kind, all here.

A name or a title may hold anything a user typed (line breaks, emoji, right-to-left text, a
thousand characters): titles are made one line and cut to a readable length here; the delivery
keeps the body as `fit_body` makes it (`record_notification`), so every text is one Twilio
takes. The full story goes by email and in-app.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from shared.contracts.booking import BookingCancelled, BookingConfirmed, WaitlistOffered

# Enough to recognise the listing without filling several segments.
TITLE_LIMIT = 60


def booking_confirmed_text(booking: BookingConfirmed) -> str:
    return (
        f"Booking {booking.reference} confirmed: {_title(booking.listing_title)}, "
        f"{_local(booking.starts_at, booking.timezone)}, {booking.seats} place(s). Details by email."
    )


def booking_cancelled_text(booking: BookingCancelled) -> str:
    refund = f" {booking.refund} {booking.currency} goes back to your card." if booking.refund > 0 else ""
    return (
        f"Booking {booking.reference} cancelled: {_title(booking.listing_title)}, "
        f"{_local(booking.starts_at, booking.timezone)}.{refund} Details by email."
    )


def waitlist_offered_text(offer: WaitlistOffered) -> str:
    title = _title(offer.listing_title) if offer.listing_title else "your waiting list"
    return (
        f"{offer.seats} place(s) held for you: {title}, {offer.local_date:%d %b %Y}. "
        f"Book by {_local(offer.offer_expires_at, offer.timezone or 'UTC')} or the offer moves on. Details by email."
    )


def _title(title: str) -> str:
    one_line = " ".join(title.split())
    return one_line if len(one_line) <= TITLE_LIMIT else one_line[: TITLE_LIMIT - 1] + "…"


def _local(at: datetime, timezone: str) -> str:
    return f"{at.astimezone(ZoneInfo(timezone)):%d %b %Y %H:%M} ({timezone})"
