"""Async SQLAlchemy plumbing: one engine per app, scoped to the app's own schema.

Every connection's `search_path` is the app's schema, so unqualified table names (ours and
the shared outbox and inbox tables) resolve inside it and no app can see another's tables.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, Dialect, MetaData, Numeric, event, func
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

logger = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A MetaData with the project's constraint naming convention; one per app."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class PlumbingBase(DeclarativeBase):
    """Tables every app has in its own schema: the outbox, the inbox, idempotency records."""

    metadata = new_metadata()


class CreatedAtMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


_HUNDREDTH = Decimal("0.01")


class MoneyAmount(TypeDecorator[Decimal]):
    """A money column: three decimals, the most a currency has (KWD, BHD), and ten digits before
    the point (`shared.money.MAX_AMOUNT`); sums of many amounts (the ledger's) take more. An
    amount reads back with two decimals unless it uses the third, as amounts read before."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 13) -> None:
        super().__init__(precision, 3)

    def process_result_value(self, value: Decimal | None, _dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        two_places = value.quantize(_HUNDREDTH)
        return two_places if two_places == value else value


def create_engine(
    *, database_url: str, schema: str, pool_size: int = 10, max_overflow: int | None = None
) -> AsyncEngine:
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_pre_ping=True,
        connect_args={"server_settings": {"search_path": schema, "timezone": "UTC"}},
    )


AfterCommit = Callable[[], Awaitable[None]]
_AFTER_COMMIT = "after_commit"
# The running after-commit actions: the event loop keeps only weak references to tasks.
_after_commit_tasks: set[asyncio.Task[None]] = set()


def after_commit(session: AsyncSession, action: AfterCommit) -> None:
    """Run `action` once the session's current transaction has committed, and not at all if it
    rolls back: for what nobody may see before the data it announces exists (a live push). The
    action runs on its own; its failure is logged, never raised to the committer."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


async def _run_after_commit(action: AfterCommit) -> None:
    try:
        await action()
    except Exception:
        logger.exception("an after-commit action failed")


def create_session_factory(
    engine: AsyncEngine,
    *,
    after_outbox_commit: Callable[[], None] | None = None,
    info: Mapping[str, object] | None = None,
) -> async_sessionmaker[AsyncSession]:
    """Sessions for one app; `after_outbox_commit` runs after a commit that queued events, and
    the actions given to `after_commit` after the commit of their transaction. Each session's
    `info` starts with a copy of `info` (what the app's code reaches through any session, such
    as its metrics)."""

    class AppSession(Session):
        pass

    @event.listens_for(AppSession, "after_commit")
    def _start_after_commit_actions(session: Session) -> None:
        for action in session.info.pop(_AFTER_COMMIT, ()):
            task = asyncio.get_running_loop().create_task(_run_after_commit(action))
            _after_commit_tasks.add(task)
            task.add_done_callback(_after_commit_tasks.discard)

    @event.listens_for(AppSession, "after_rollback")
    def _forget_after_commit_actions(session: Session) -> None:
        session.info.pop(_AFTER_COMMIT, None)

    if after_outbox_commit is not None:
        callback = after_outbox_commit

        @event.listens_for(AppSession, "after_commit")
        def _wake_relay(session: Session) -> None:
            if session.info.pop("outbox_written", False):
                callback()

        @event.listens_for(AppSession, "after_rollback")
        def _forget_outbox_write(session: Session) -> None:
            session.info.pop("outbox_written", None)

    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=AppSession, info=dict(info or {}))


@asynccontextmanager
async def transaction(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One use case, one transaction: commits on success, rolls back on any error."""
    async with session_factory() as session, session.begin():
        yield session


async def read_from_one_snapshot(session: AsyncSession) -> None:
    """Make every read of the session's transaction, not begun yet, see the database as it was
    at its first one (REPEATABLE READ, read only): a page of lines and the totals shown beside
    it then agree, whatever commits between the two reads."""
    if session.in_transaction():
        raise RuntimeError("the snapshot must be chosen before the transaction's first statement")
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})
