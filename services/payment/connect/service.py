"""Stripe Connect: providers and experts get an Express account, made once, and finish setting it
up on Stripe's onboarding page; Stripe reports the account's status back in `account.updated`."""

import logging
from datetime import UTC, datetime
from uuid import UUID

import stripe
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from stripe.params import AccountCreateParams, AccountCreateParamsCapabilities

from services.payment.connect.domain import AccountStatus, is_verified
from services.payment.connect.models import ConnectedAccount
from services.payment.connect.schemas import AccountOut, OnboardingLink
from shared.errors import BadGateway, Forbidden
from shared.identity import Identity

logger = logging.getLogger(__name__)


async def start_onboarding(
    session: AsyncSession, *, stripe_client: stripe.StripeClient, owner: Identity, refresh_url: str, return_url: str
) -> OnboardingLink:
    """A fresh onboarding link for the caller's connected account, which is made the first time
    (asking again, even concurrently, reuses it: Stripe's idempotency key is the owner's)."""
    role = _payee_role(owner)
    account_id = await _account_id_of(session, stripe_client=stripe_client, owner=owner, role=role)
    try:
        link = await stripe_client.v1.account_links.create_async(
            params={
                "account": account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            }
        )
    except stripe.StripeError as error:
        logger.warning("stripe refused an account link for %s: %s", account_id, error)
        raise BadGateway("The payment provider is unavailable; try again.") from None
    return OnboardingLink(url=link.url, expires_at=datetime.fromtimestamp(link.expires_at, UTC), account_id=account_id)


def _payee_role(owner: Identity) -> str:
    if owner.has_role("provider"):
        return "provider"
    if owner.has_role("expert"):
        return "expert"
    raise Forbidden("Only providers and experts are paid out.")


async def _account_id_of(
    session: AsyncSession, *, stripe_client: stripe.StripeClient, owner: Identity, role: str
) -> str:
    existing = await session.scalar(
        select(ConnectedAccount.stripe_account_id).where(ConnectedAccount.owner_id == owner.user_id)
    )
    if existing is not None:
        return existing
    # Experts are only paid (transfers); providers also take charges made for them.
    capabilities: AccountCreateParamsCapabilities = {"transfers": {"requested": True}}
    if role == "provider":
        capabilities["card_payments"] = {"requested": True}
    params: AccountCreateParams = {
        "type": "express",
        "email": owner.email,
        "capabilities": capabilities,
        # Manual payouts: Stripe pays the account out only when we say, which is how the payout
        # policy holds a destination charge's money until it is due.
        "settings": {"payouts": {"schedule": {"interval": "manual"}}},
        "metadata": {"owner_id": str(owner.user_id), "owner_role": role},
    }
    try:
        account = await stripe_client.v1.accounts.create_async(
            params=params, options={"idempotency_key": f"connect-account:{owner.user_id}"}
        )
    except stripe.StripeError as error:
        logger.warning("stripe refused a connected account for %s: %s", owner.user_id, error)
        raise BadGateway("The payment provider is unavailable; try again.") from None
    await session.execute(
        insert(ConnectedAccount)
        .values(owner_id=owner.user_id, owner_role=role, stripe_account_id=account.id, requirements_due=[])
        # No conflict target: a concurrent request for the same owner got the same account
        # (Stripe replays the idempotent create), and may collide on either unique column.
        .on_conflict_do_nothing()
    )
    await session.commit()
    winner = await session.scalar(
        select(ConnectedAccount.stripe_account_id).where(ConnectedAccount.owner_id == owner.user_id)
    )
    assert winner is not None
    return winner


def status_of(account: stripe.Account) -> AccountStatus:
    requirements = account.requirements
    return AccountStatus(
        charges_enabled=bool(account.charges_enabled),
        payouts_enabled=bool(account.payouts_enabled),
        details_submitted=bool(account.details_submitted),
        currently_due=tuple(requirements.currently_due or ()) if requirements else (),
        past_due=tuple(requirements.past_due or ()) if requirements else (),
        pending_verification=tuple(requirements.pending_verification or ()) if requirements else (),
        disabled_reason=requirements.disabled_reason if requirements else None,
    )


async def apply_account_status(session: AsyncSession, *, account: stripe.Account) -> str:
    """Keep what Stripe now says of a connected account (the caller re-read it, so an older
    event cannot undo a newer state); returns what happened."""
    connected = await session.scalar(
        select(ConnectedAccount).where(ConnectedAccount.stripe_account_id == account.id).with_for_update()
    )
    if connected is None:
        logger.info("account.updated for unknown account %s", account.id)
        return "unknown account"
    status = status_of(account)
    connected.charges_enabled = status.charges_enabled
    connected.payouts_enabled = status.payouts_enabled
    connected.details_submitted = status.details_submitted
    connected.requirements_due = list(status.currently_due)
    connected.verified = is_verified(status)
    return "account verified" if connected.verified else "account updated"


async def account_of(session: AsyncSession, *, owner_id: UUID) -> ConnectedAccount | None:
    return await session.get(ConnectedAccount, owner_id)


async def charge_destination(session: AsyncSession, *, provider_id: UUID) -> str | None:
    """The provider's connected account if a charge can be made to it (a destination charge),
    else None: the platform then keeps the money until it is paid out."""
    return await session.scalar(
        select(ConnectedAccount.stripe_account_id).where(
            ConnectedAccount.owner_id == provider_id,
            ConnectedAccount.owner_role == "provider",
            ConnectedAccount.charges_enabled,
        )
    )


def account_out(account: ConnectedAccount) -> AccountOut:
    return AccountOut(
        account_id=account.stripe_account_id,
        charges_enabled=account.charges_enabled,
        payouts_enabled=account.payouts_enabled,
        details_submitted=account.details_submitted,
        verified=account.verified,
        requirements_due=account.requirements_due,
    )
