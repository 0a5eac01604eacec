"""The emails about a payout the bank refused: every admin gets what they need to settle it;
the provider or expert who was to be paid hears that their money is safe and what to check.

Each is rendered by `rendering.render_email` from its files in `layouts/`, in the recipient's
locale.
"""

from email.message import EmailMessage

from services.notification.email.rendering import render_email
from shared.contracts.payment import PayoutFailed


def payout_failed_ops(payout: PayoutFailed, *, sender: str, recipient: str, locale: str = "en") -> EmailMessage:
    """For admins: the payout, whom it was for, Stripe's ids and reason."""
    return render_email("payout_failed_ops", {"payout": payout}, sender=sender, recipient=recipient, locale=locale)


def payout_failed(payout: PayoutFailed, *, sender: str, recipient: str, locale: str = "en") -> EmailMessage:
    """For the provider or expert who was to be paid."""
    return render_email("payout_failed", {"payout": payout}, sender=sender, recipient=recipient, locale=locale)
