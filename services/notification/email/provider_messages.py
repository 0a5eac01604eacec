"""The emails to the people who sell: a provider hears of each booking of their listings made,
cancelled or changed; an expert of each traveler who asks them to plan a trip.

Each is rendered by `rendering.render_email` from its files in `layouts/`, in the recipient's
locale (theirs, from the directory), with dates in the listing's own time. A provider's
subjects say whose booking of which listing, what a provider scans an inbox of many bookings
by; the booking's reference is in the body and the in-app summary.
"""

from email.message import EmailMessage

from services.notification.email.rendering import render_email
from shared.contracts.booking import BookingCancelled, BookingConfirmed, BookingModified, HandoffRequested


def provider_booking_received(
    booking: BookingConfirmed, *, sender: str, recipient: str, locale: str = "en"
) -> EmailMessage:
    return render_email(
        "provider_booking_received", {"booking": booking}, sender=sender, recipient=recipient, locale=locale
    )


def cancelled_by(booking: BookingCancelled) -> tuple[str, str | None]:
    """Who cancelled the booking, as its provider reads it, and why."""
    if booking.blackout_id is not None:
        return "You blacked out its date, which cancelled it", booking.blackout_reason
    if booking.cancelled_by == "traveler":
        return "The traveler cancelled it", booking.reason
    if booking.cancelled_by == "provider":
        return "You cancelled it", booking.reason
    return "The platform cancelled it", booking.reason


def provider_booking_cancelled(
    booking: BookingCancelled, *, sender: str, recipient: str, locale: str = "en"
) -> EmailMessage:
    who, why = cancelled_by(booking)
    return render_email(
        "provider_booking_cancelled",
        {"booking": booking, "cancelled_by": who, "why": why},
        sender=sender,
        recipient=recipient,
        locale=locale,
    )


def provider_booking_changed(
    booking: BookingModified, *, sender: str, recipient: str, locale: str = "en"
) -> EmailMessage:
    return render_email(
        "provider_booking_changed", {"booking": booking}, sender=sender, recipient=recipient, locale=locale
    )


def handoff_requested(handoff: HandoffRequested, *, sender: str, recipient: str, locale: str = "en") -> EmailMessage:
    return render_email("handoff_requested", {"handoff": handoff}, sender=sender, recipient=recipient, locale=locale)
