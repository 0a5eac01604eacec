from datetime import datetime

from pydantic import BaseModel


class OnboardingLink(BaseModel):
    """Where the provider (or expert) finishes setting up their Stripe account: a single-use link."""

    url: str
    expires_at: datetime
    account_id: str


class AccountOut(BaseModel):
    account_id: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    # Fully verified by Stripe: paid out at confirmation rather than after the service.
    verified: bool
    requirements_due: list[str]
