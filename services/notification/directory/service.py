"""The directory of accounts: who each account of the platform is and how to reach its owner,
kept from the gateway's identity.account_changed, so notification can write to any account (a
provider, an expert, an admin) knowing only its id, in its owner's language.

Announcements arrive at least once and, across a republish or a consumer's restart, not
necessarily in order: each carries the account's `changed_at`, and the directory keeps the
newest. An older or equal one changes nothing, so a repeat is harmless.
"""

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.directory.models import KnownAccount
from services.notification.notifications.domain import Recipient
from shared.contracts.identity import AccountChanged

ADMIN_ROLE = "admin"


async def apply_account_changed(session: AsyncSession, account: AccountChanged) -> None:
    """The account as announced, unless the directory knows a change as new or newer. One
    statement, so two announcements of one account at once cannot undo each other."""
    facts = {
        "email": account.email,
        "name": account.name,
        "roles": account.roles,
        "locale": account.locale,
        "email_verified": account.email_verified,
        "changed_at": account.changed_at,
    }
    upsert = insert(KnownAccount).values(user_id=account.user_id, **facts)
    await session.execute(
        upsert.on_conflict_do_update(
            index_elements=[KnownAccount.user_id],
            set_=facts,
            where=KnownAccount.changed_at < upsert.excluded.changed_at,
        )
    )


def _recipient(account: KnownAccount) -> Recipient:
    return Recipient(email=account.email, user_id=account.user_id, locale=account.locale)


async def recipient_for(session: AsyncSession, user_id: UUID) -> Recipient | None:
    """How to write to the account's owner; None for an account the directory has not heard of."""
    account = await session.get(KnownAccount, user_id)
    return _recipient(account) if account is not None else None


async def admin_recipients(session: AsyncSession) -> list[Recipient]:
    """Every account with the admin role, by email."""
    admins = await session.scalars(
        select(KnownAccount).where(KnownAccount.roles.contains([ADMIN_ROLE])).order_by(KnownAccount.email)
    )
    return [_recipient(account) for account in admins]
