"""What the gateway tells the services about its accounts: `identity.account_changed` when an
account is created and whenever a fact the event carries changes, written in the transaction
of that change; and every account again on an admin's demand, for the accounts that existed
before the event did (or a consumer that lost its copy).

Each event carries the account's `changed_at`, stamped with the change and kept on the
account, so a reader keeping the newest is never misled: a republished account carries the
time of its last change, not the time it was republished.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.identity.domain import next_change_time
from gateway.identity.models import UserAccount
from shared.clock import Clock
from shared.contracts.identity import AccountChanged
from shared.events.outbox import add_event

REPUBLISH_BATCH_SIZE = 500


def _account_changed_event(user: UserAccount) -> AccountChanged:
    return AccountChanged(
        user_id=user.id,
        email=user.email,
        name=user.name,
        roles=list(user.roles),
        locale=user.locale,
        email_verified=user.email_verified_at is not None,
        changed_at=user.changed_at,
    )


def account_changed(session: AsyncSession, user: UserAccount, *, producer: str, now: datetime) -> None:
    """Stamp the account changed at `now` (after its previous change) and write the event in
    the caller's transaction. A new account needs its id and locale set before this."""
    user.changed_at = next_change_time(user.changed_at, now)
    add_event(session, _account_changed_event(user), producer=producer, key=str(user.id), occurred_at=now)


async def republish_accounts(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    producer: str,
    clock: Clock,
    batch_size: int = REPUBLISH_BATCH_SIZE,
) -> int:
    """`identity.account_changed` again for every account, as it is; how many were written.
    One transaction per batch, in id order, so a large table never holds one long transaction
    and what was written stays written if this stops half-way (running it again is harmless)."""
    republished = 0
    after: UUID | None = None
    while True:
        async with session_factory() as session:
            batch = select(UserAccount).order_by(UserAccount.id).limit(batch_size)
            if after is not None:
                batch = batch.where(UserAccount.id > after)
            users = list((await session.scalars(batch)).all())
            if not users:
                return republished
            now = clock.now()
            for user in users:
                add_event(session, _account_changed_event(user), producer=producer, key=str(user.id), occurred_at=now)
            await session.commit()
        republished += len(users)
        after = users[-1].id
