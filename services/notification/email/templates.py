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
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from services.notification.email.rendering import (
    HEADERS_POLICY,
    attach,
    one_line,
    plain_text,
    render_email,
    subject_line,
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


def booking_cancellation(booking: BookingCancelled, *, sender: str) -> EmailMessage:
    by_whom = "at your request" if booking.cancelled_by == "traveler" else "by the provider"
    settled = [f"  {booking.refund} {booking.currency} goes back to your card."] if booking.refund > 0 else []
    if booking.credit > 0:
        settled.append(f"  {booking.credit} {booking.currency} of credit is yours for your next booking.")
    message = _message(
        sender=sender,
        recipient=booking.contact_email,
        subject=f"Booking {booking.reference} cancelled: {booking.listing_title}",
        body=(
            f"Hello {booking.contact_name},\n\n"
            f"Your booking {booking.reference} has been cancelled {by_whom}: {booking.reason}\n\n"
            f"  {booking.listing_title}\n"
            f"  {_local(booking.starts_at, booking.timezone)}\n\n" + ("\n".join(settled) + "\n" if settled else "")
        ),
    )
    if booking.was_confirmed:
        message.add_attachment(
            booking_invite(booking), maintype="text", subtype="calendar", filename=_invite_name(booking.reference)
        )
    return message


def booking_reminder(booking: BookingConfirmed, *, sender: str) -> EmailMessage:
    """The traveler's reminder the day before, with the start in the listing's own time."""
    return _message(
        sender=sender,
        recipient=booking.contact_email,
        subject=f"Reminder: booking {booking.reference} starts tomorrow: {booking.listing_title}",
        body=(
            f"Hello {booking.contact_name},\n\n"
            f"Your booking {booking.reference} starts tomorrow.\n\n"
            f"  {booking.listing_title}\n"
            f"  {_local(booking.starts_at, booking.timezone)}\n"
            f"  {booking.seats} place(s)\n\n"
            "Have a good trip.\n"
        ),
    )


def booking_change(booking: BookingModified, *, sender: str) -> EmailMessage:
    charged = max(booking.difference, Decimal(0)) if booking.charged is None else booking.charged
    refunded = max(-booking.difference, Decimal(0)) if booking.refunded is None else booking.refunded
    settled = ""
    if charged > 0:
        settled += f"  {charged} {booking.currency} more was charged.\n"
    if refunded > 0:
        settled += f"  {refunded} {booking.currency} goes back to your card.\n"
    if booking.balance and booking.balance_due_at is not None:
        settled += (
            f"  {booking.balance} {booking.currency} is left to pay, charged to your saved card from "
            f"{_local(booking.balance_due_at, booking.timezone)}.\n"
        )
    message = _message(
        sender=sender,
        recipient=booking.contact_email,
        subject=f"Booking {booking.reference} changed: {booking.listing_title}",
        body=(
            f"Hello {booking.contact_name},\n\n"
            f"Your booking {booking.reference} now reads:\n\n"
            f"  {booking.listing_title}\n"
            f"  {_local(booking.starts_at, booking.timezone)}\n"
            f"  {booking.seats} place(s), {booking.total} {booking.currency} in all\n"
            f"{settled}\n"
            "The updated calendar invite is attached.\n"
        ),
    )
    message.add_attachment(
        booking_invite(booking), maintype="text", subtype="calendar", filename=_invite_name(booking.reference)
    )
    return message


def _local(at: datetime, timezone: str) -> str:
    return f"{at.astimezone(ZoneInfo(timezone)):%A %d %B %Y, %H:%M} ({timezone})"


def _invite_name(reference: str) -> str:
    return f"{one_line(reference) or 'booking'}.ics"


def _message(*, sender: str, recipient: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage(policy=HEADERS_POLICY)
    message["From"] = one_line(sender)
    message["To"] = one_line(recipient)
    message["Subject"] = subject_line(subject)
    message.set_content(plain_text(body).replace("\r\n", "\n").replace("\r", "\n"))
    return message


def _traveler(request: RequestFacts) -> str:
    """Where answers to a request go: the account that made it, never the typed contact (which
    anyone could point at someone else's inbox); events from before they carried it, the contact."""
    return request.traveler_email or request.contact_email


def _asked(request: RequestFacts) -> str:
    return f"  {request.listing_title}\n  {_local(request.starts_at, request.timezone)}\n  {request.seats} place(s)\n"


def request_to_provider(
    request: BookingRequestCreated | BookingRequestProviderReminded | BookingRequestProviderWarned,
    *,
    recipient: str,
    sender: str,
) -> EmailMessage:
    """A new request, its reminder after a day and its last warning, for the provider."""
    answer_by = _local(request.expires_at, request.timezone)
    if isinstance(request, BookingRequestCreated):
        subject = f"New booking request: {request.listing_title}"
        opening = f"{request.contact_name} asks to book:\n\n{_asked(request)}"
        if request.message:
            opening += f"\nTheir message: {request.message}\n"
    elif isinstance(request, BookingRequestProviderReminded):
        subject = f"Reminder: a booking request awaits your answer: {request.listing_title}"
        opening = f"{request.contact_name}'s request is still waiting for your answer:\n\n{_asked(request)}"
    else:
        subject = f"Last call: a booking request expires soon: {request.listing_title}"
        opening = f"{request.contact_name}'s request expires unanswered soon:\n\n{_asked(request)}"
    return _message(
        sender=sender,
        recipient=recipient,
        subject=subject,
        body=(
            f"Hello,\n\n{opening}\n"
            f"Accept, decline or counter-offer it by {answer_by}; unanswered, it is declined then.\n"
        ),
    )


def request_answered(request: BookingToPay, *, sender: str) -> EmailMessage:
    """An accepted request (or counter-offer): the booking is the traveler's once paid."""
    accepted = (
        "You accepted the provider's counter-offer"
        if isinstance(request, BookingRequestCounterAccepted)
        else "The provider accepted your request"
    )
    return _message(
        sender=sender,
        recipient=_traveler(request),
        subject=f"Request accepted, please pay: {request.listing_title} ({request.reference})",
        body=(
            f"Hello {request.contact_name},\n\n{accepted}:\n\n"
            f"  {request.listing_title}\n  {_local(request.booking_starts_at, request.timezone)}\n"
            f"  {request.seats} place(s), {request.total} {request.currency}\n\n"
            f"Booking {request.reference} is yours once paid, by {_local(request.pay_by, request.timezone)}; "
            "the seats are held for you until then.\n"
        ),
    )


def request_declined(request: BookingRequestDeclined, *, sender: str) -> EmailMessage:
    alternatives = "".join(
        f"  {slot.date:%A %d %B}, {slot.start_time}: {slot.available} place(s) left"
        + (f", from {slot.unit_price} {request.currency} per person" if slot.unit_price is not None else "")
        + "\n"
        for slot in request.alternatives
    )
    others = f"These times still have room for you:\n\n{alternatives}" if alternatives else ""
    reason = f"The provider's reason: {request.reason}\n\n" if request.reason else ""
    return _message(
        sender=sender,
        recipient=_traveler(request),
        subject=f"Request declined: {request.listing_title}",
        body=(
            f"Hello {request.contact_name},\n\nThe provider cannot take your request:\n\n{_asked(request)}\n"
            f"{reason}{others}"
        ),
    )


def request_countered(request: BookingRequestCountered, *, sender: str) -> EmailMessage:
    price = f"  {request.counter_price} {request.currency} in all\n" if request.counter_price is not None else ""
    return _message(
        sender=sender,
        recipient=_traveler(request),
        subject=f"Counter-offer for your request: {request.listing_title}",
        body=(
            f"Hello {request.contact_name},\n\nThe provider offers instead:\n\n"
            f"  {request.listing_title}\n  {_local(request.counter_starts_at, request.timezone)}\n{price}\n"
            f"Their message: {request.counter_message}\n\n"
            f"Accept it by {_local(request.expires_at, request.timezone)} to book it.\n"
        ),
    )


def request_expired(request: BookingRequestExpired, *, sender: str) -> EmailMessage:
    return _message(
        sender=sender,
        recipient=_traveler(request),
        subject=f"Request expired unanswered: {request.listing_title}",
        body=(
            f"Hello {request.contact_name},\n\nThe provider did not answer your request in time, so it has "
            f"lapsed; nothing was charged.\n\n{_asked(request)}"
        ),
    )


def booked_on_behalf(booking: BookedOnBehalf, *, sender: str) -> EmailMessage:
    """The traveler hears at once of a booking their expert made on their card."""
    return _message(
        sender=sender,
        recipient=booking.traveler_email,
        subject=f"Your expert booked {booking.listing_title} for you ({booking.reference})",
        body=(
            "Hello,\n\nThe expert you gave the right to book for you has booked:\n\n"
            f"  {booking.listing_title}\n  {_local(booking.starts_at, booking.timezone)}\n"
            f"  {booking.total} {booking.currency}, charged to your saved card\n\n"
            f"Booking {booking.reference} is in your bookings; the confirmation follows once it is paid. "
            "You can revoke the expert's grant at any time.\n"
        ),
    )


def balance_charge_failed(booking: BookingBalanceChargeFailed, *, sender: str) -> EmailMessage:
    """The saved card was not charged for the balance: when it is tried again, and how to pay now."""
    retry = (
        f"We will try your saved card again on {_local(booking.next_attempt_at, booking.timezone)}"
        f" ({booking.attempts_left} attempt{'s' if booking.attempts_left != 1 else ''} left); "
        "if the balance is still unpaid after the last one, the booking is cancelled by its "
        "cancellation policy.\n"
    )
    return _message(
        sender=sender,
        recipient=booking.contact_email,
        subject=f"Balance not charged: {booking.listing_title} ({booking.reference})",
        body=(
            f"Hello {booking.contact_name},\n\nWe could not charge the balance of your booking to your "
            f"saved card:\n\n  {booking.listing_title}\n  {_local(booking.starts_at, booking.timezone)}\n"
            f"  {booking.amount} {booking.currency} due\n\n{retry}\n"
            f"Pay it now from your booking (POST /bookings/{booking.booking_id}/pay-balance).\n"
        ),
    )
