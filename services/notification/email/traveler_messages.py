"""The traveler's emails about seats offered from a waiting list and about money: a booking
that lapsed unpaid, a card declined at checkout, a refund made.

Each is rendered by `rendering.render_email` from its files in `layouts/`, in the traveler's
locale, with dates in the listing's own time. The facts of an unpaid booking are absent from
events written before they were carried: the layouts say what they have.
"""

from email.message import EmailMessage

from services.notification.email.rendering import render_email
from shared.contracts.booking import BookingExpired, BookingPaymentFailed, BookingRefundCompleted, WaitlistOffered

# An offer from before inventory said the listing's zone: its times in UTC, named so.
FALLBACK_ZONE = "UTC"


def waitlist_offered(offer: WaitlistOffered, *, sender: str, recipient: str, locale: str = "en") -> EmailMessage:
    """Seats held for a waiting traveler, and until when (in the listing's time) they hold."""
    return render_email(
        "waitlist_offered",
        {"offer": offer, "zone": offer.timezone or FALLBACK_ZONE},
        sender=sender,
        recipient=recipient,
        locale=locale,
    )


def booking_expired(booking: BookingExpired, *, sender: str, recipient: str, locale: str = "en") -> EmailMessage:
    return render_email("booking_expired", {"booking": booking}, sender=sender, recipient=recipient, locale=locale)


def payment_failed(booking: BookingPaymentFailed, *, sender: str, recipient: str, locale: str = "en") -> EmailMessage:
    """The card was declined at checkout: nothing was booked, and how to try again."""
    return render_email("payment_failed", {"booking": booking}, sender=sender, recipient=recipient, locale=locale)


def refund_completed(
    refund: BookingRefundCompleted, *, sender: str, recipient: str, locale: str = "en"
) -> EmailMessage:
    """How much went back, and where: the card, or the traveler's credit."""
    return render_email("refund_completed", {"refund": refund}, sender=sender, recipient=recipient, locale=locale)
