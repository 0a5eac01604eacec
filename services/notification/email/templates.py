"""The booking confirmation and cancellation emails and their calendar invites; the emails
of booking requests to the provider and the traveler.

Each is rendered by `rendering.render_email` from its files in `layouts/`, in the
recipient's locale; the invite of a confirmation, change or cancellation is attached after.
Every text in them may come from a user (a listing's title, a name, a reason, a message);
`render_email` keeps the headers one line and escapes the HTML body.
"""

from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage

from icalendar import Calendar, Event

from services.notification.email.rendering import (
    attach,
    one_line,
    plain_text,
    render_email,
)
from shared.contracts.booking import (
    BookedOnBehalf,
    BookingBalanceChargeFailed,
    BookingCancelled,
    BookingConfirmed,
    BookingModified,
    BookingRequestCounterAccepted,
    BookingRequestCountered,
    BookingRequestCreated,
    BookingRequestDeclined,
    BookingRequestExpired,
    BookingRequestProviderReminded,
    BookingRequestProviderWarned,
    BookingToPay,
    RequestFacts,
)


def booking_invite(booking: BookingConfirmed | BookingModified | BookingCancelled) -> bytes:
    """The booking as a calendar event; a change or a cancellation updates the event the
    confirmation put in the traveler's calendar (same UID, a later sequence)."""
    cancelled = isinstance(booking, BookingCancelled)
    sequence = 0 if isinstance(booking, BookingConfirmed) else booking.calendar_sequence
    calendar = Calendar()
    calendar.add("prodid", "-//Travel Platform//Bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", f"{booking.booking_id}@travel.example")
    event.add("sequence", sequence)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("summary", one_line(booking.listing_title))
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("dtstamp", datetime.now(UTC))
    event.add("description", plain_text(f"Booking {booking.reference}, {booking.seats} place(s)"))
    calendar.add_component(event)
    invite: bytes = calendar.to_ical()
    return invite


def booking_confirmation(booking: BookingConfirmed, *, sender: str, locale: str = "en") -> EmailMessage:
    message = render_email(
        "booking_confirmation", {"booking": booking}, sender=sender, recipient=booking.contact_email, locale=locale
    )
    attach(message, booking_invite(booking), mime_type="text/calendar", filename=_invite_name(booking.reference))
    return message


def booking_cancellation(booking: BookingCancelled, *, sender: str, locale: str = "en") -> EmailMessage:
    message = render_email(
        "booking_cancellation", {"booking": booking}, sender=sender, recipient=booking.contact_email, locale=locale
    )
    if booking.was_confirmed:
        attach(message, booking_invite(booking), mime_type="text/calendar", filename=_invite_name(booking.reference))
    return message


def booking_reminder(booking: BookingConfirmed, *, sender: str, locale: str = "en") -> EmailMessage:
    """The traveler's reminder the day before, with the start in the listing's own time."""
    return render_email(
        "booking_reminder", {"booking": booking}, sender=sender, recipient=booking.contact_email, locale=locale
    )


def booking_change(booking: BookingModified, *, sender: str, locale: str = "en") -> EmailMessage:
    charged = max(booking.difference, Decimal(0)) if booking.charged is None else booking.charged
    refunded = max(-booking.difference, Decimal(0)) if booking.refunded is None else booking.refunded
    message = render_email(
        "booking_change",
        {
            "booking": booking,
            "charged": charged,
            "refunded": refunded,
            "balance_due_at": booking.balance_due_at if booking.balance else None,
        },
        sender=sender,
        recipient=booking.contact_email,
        locale=locale,
    )
    attach(message, booking_invite(booking), mime_type="text/calendar", filename=_invite_name(booking.reference))
    return message


def _invite_name(reference: str) -> str:
    return f"{one_line(reference) or 'booking'}.ics"


def _traveler(request: RequestFacts) -> str:
    """Where answers to a request go: the account that made it, never the typed contact (which
    anyone could point at someone else's inbox); events from before they carried it, the contact."""
    return request.traveler_email or request.contact_email


def request_to_provider(
    request: BookingRequestCreated | BookingRequestProviderReminded | BookingRequestProviderWarned,
    *,
    recipient: str,
    sender: str,
    locale: str = "en",
) -> EmailMessage:
    """A new request, its reminder after a day and its last warning, for the provider."""
    if isinstance(request, BookingRequestCreated):
        stage = "created"
    elif isinstance(request, BookingRequestProviderReminded):
        stage = "reminded"
    else:
        stage = "warned"
    return render_email(
        "request_to_provider", {"request": request, "stage": stage}, sender=sender, recipient=recipient, locale=locale
    )


def request_answered(request: BookingToPay, *, sender: str, locale: str = "en") -> EmailMessage:
    """An accepted request (or counter-offer): the booking is the traveler's once paid."""
    return render_email(
        "request_answered",
        {"request": request, "counter_offer": isinstance(request, BookingRequestCounterAccepted)},
        sender=sender,
        recipient=_traveler(request),
        locale=locale,
    )


def request_declined(request: BookingRequestDeclined, *, sender: str, locale: str = "en") -> EmailMessage:
    return render_email(
        "request_declined", {"request": request}, sender=sender, recipient=_traveler(request), locale=locale
    )


def request_countered(request: BookingRequestCountered, *, sender: str, locale: str = "en") -> EmailMessage:
    return render_email(
        "request_countered", {"request": request}, sender=sender, recipient=_traveler(request), locale=locale
    )


def request_expired(request: BookingRequestExpired, *, sender: str, locale: str = "en") -> EmailMessage:
    return render_email(
        "request_expired", {"request": request}, sender=sender, recipient=_traveler(request), locale=locale
    )


def booked_on_behalf(booking: BookedOnBehalf, *, sender: str, locale: str = "en") -> EmailMessage:
    """The traveler hears at once of a booking their expert made on their card."""
    return render_email(
        "booked_on_behalf", {"booking": booking}, sender=sender, recipient=booking.traveler_email, locale=locale
    )


def balance_charge_failed(booking: BookingBalanceChargeFailed, *, sender: str, locale: str = "en") -> EmailMessage:
    """The saved card was not charged for the balance: when it is tried again, and how to pay now."""
    return render_email(
        "balance_charge_failed", {"booking": booking}, sender=sender, recipient=booking.contact_email, locale=locale
    )
