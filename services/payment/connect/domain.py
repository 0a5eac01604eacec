"""Stripe Connect, pure rules: when a connected account counts as verified."""

from dataclasses import dataclass


@dataclass(frozen=True)
class AccountStatus:
    """What Stripe reports of a connected account."""

    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    currently_due: tuple[str, ...]
    past_due: tuple[str, ...]
    pending_verification: tuple[str, ...]
    disabled_reason: str | None


def is_verified(status: AccountStatus) -> bool:
    """Fully verified: it takes charges and pays out, the owner has submitted everything, Stripe
    needs nothing more now, is checking nothing, and has not restricted it."""
    return (
        status.charges_enabled
        and status.payouts_enabled
        and status.details_submitted
        and not status.currently_due
        and not status.past_due
        and not status.pending_verification
        and status.disabled_reason is None
    )
