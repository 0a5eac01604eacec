"""The booking confirmation and cancellation emails and their calendar invites."""

from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from services.booking.bookings.events import BookingCancelled, BookingConfirmed


def booking_invite(booking: BookingConfirmed | BookingCancelled) -> bytes:
    """The booking as a calendar event; for a cancelled one, the cancellation of the event the
    confirmation put in the traveler's calendar (same UID, a later sequence)."""
    cancelled = isinstance(booking, BookingCancelled)
    calendar = Calendar()
    calendar.add("prodid", "-//Travel Platform//Bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", f"{booking.booking_id}@travel.example")
    event.add("sequence", 1 if cancelled else 0)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
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


def booking_cancellation(booking: BookingCancelled, *, sender: str) -> EmailMessage:
    local_start = booking.starts_at.astimezone(ZoneInfo(booking.timezone))
    by_whom = "at your request" if booking.cancelled_by == "traveler" else "by the provider"
    settled = [f"  {booking.refund} {booking.currency} goes back to your card."] if booking.refund > 0 else []
    if booking.credit > 0:
        settled.append(f"  {booking.credit} {booking.currency} of credit is yours for your next booking.")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = booking.contact_email
    message["Subject"] = f"Booking {booking.reference} cancelled: {booking.listing_title}"
    message.set_content(
        f"Hello {booking.contact_name},\n\n"
        f"Your booking {booking.reference} has been cancelled {by_whom}: {booking.reason}\n\n"
        f"  {booking.listing_title}\n"
        f"  {local_start:%A %d %B %Y, %H:%M} ({booking.timezone})\n\n" + ("\n".join(settled) + "\n" if settled else "")
    )
    if booking.was_confirmed:
        message.add_attachment(
            booking_invite(booking), maintype="text", subtype="calendar", filename=f"{booking.reference}.ics"
        )
    return message
