"""The emails about a payout the bank refused: every admin gets what they need to settle it;
the provider or expert who was to be paid hears that their money is safe and what to check.
And the one to the owner of a webhook subscription disabled because its endpoint kept failing.

Each is rendered by `rendering.render_email` from its files in `layouts/`, in the recipient's
locale.
"""

from email.message import EmailMessage

from services.notification.email.rendering import render_email
from shared.contracts.payment import PayoutFailed
from shared.contracts.webhooks import WebhookSubscriptionDisabled


def payout_failed_ops(payout: PayoutFailed, *, sender: str, recipient: str, locale: str = "en") -> EmailMessage:
    """For admins: the payout, whom it was for, Stripe's ids and reason."""
    return render_email("payout_failed_ops", {"payout": payout}, sender=sender, recipient=recipient, locale=locale)


def payout_failed(payout: PayoutFailed, *, sender: str, recipient: str, locale: str = "en") -> EmailMessage:
    """For the provider or expert who was to be paid."""
    return render_email("payout_failed", {"payout": payout}, sender=sender, recipient=recipient, locale=locale)


def webhook_subscription_disabled(
    disabled: WebhookSubscriptionDisabled, *, sender: str, recipient: str, locale: str = "en"
) -> EmailMessage:
    """For the subscription's owner: their endpoint is no longer sent events, and how to resume."""
    return render_email(
        "webhook_subscription_disabled", {"disabled": disabled}, sender=sender, recipient=recipient, locale=locale
    )
