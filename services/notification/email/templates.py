"""The booking confirmation email and its calendar invite."""

from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from services.booking.bookings.events import BookingConfirmed


def booking_invite(booking: BookingConfirmed) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Travel Platform//Bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{booking.booking_id}@travel.example")
    event.add("summary", booking.listing_title)
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("dtstamp", datetime.now(UTC))
    event.add("description", f"Booking {booking.reference}, {booking.seats} place(s)")
    calendar.add_component(event)
    invite: bytes = calendar.to_ical()
    return invite


def booking_confirmation(booking: BookingConfirmed, *, sender: str) -> EmailMessage:
    local_start = booking.starts_at.astimezone(ZoneInfo(booking.timezone))
    message = EmailMessage()
    message["From"] = sender
    message["To"] = booking.contact_email
    message["Subject"] = f"Booking {booking.reference} confirmed: {booking.listing_title}"
    message.set_content(
        f"Hello {booking.contact_name},\n\n"
        f"Your booking {booking.reference} is confirmed.\n\n"
        f"  {booking.listing_title}\n"
        f"  {local_start:%A %d %B %Y, %H:%M} ({booking.timezone})\n"
        f"  {booking.seats} place(s), {booking.total} {booking.currency} paid\n\n"
        "The calendar invite is attached.\n"
    )
    message.add_attachment(
        booking_invite(booking), maintype="text", subtype="calendar", filename=f"{booking.reference}.ics"
    )
    return message
