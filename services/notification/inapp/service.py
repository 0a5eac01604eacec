"""In-app notifications: recorded with the notification (delivered once written), listed for
their recipient newest or unread first, marked read; pushed live after the commit."""

from datetime import datetime
from functools import partial
from uuid import UUID

from redis.asyncio import Redis
from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.inapp.domain import Order, Position, one_line, summary
from services.notification.inapp.live import push
from services.notification.inapp.models import InAppNotification
from services.notification.inapp.schemas import NotificationOut, SubjectOut
from services.notification.notifications.domain import NotificationDraft, NotificationKind
from services.notification.notifications.models import Notification
from shared.db import after_commit, read_from_one_snapshot
from shared.errors import NotFound

TITLE_LIMIT = 300


def record_in_app(
    session: AsyncSession,
    *,
    notification_id: UUID,
    user_id: UUID,
    draft: NotificationDraft,
    now: datetime,
    redis: Redis,
) -> None:
    """Put the notification in the recipient's feed, in the caller's transaction; once that
    commits, push it to their live subscribers. In-app has no provider and no delivery to
    retry: it is delivered when this row is written."""
    item = InAppNotification(
        notification_id=notification_id,
        user_id=user_id,
        summary=summary(draft.facts, timezone=draft.recipient.timezone),
        created_at=now,
        read_at=None,
    )
    session.add(item)
    shown = NotificationOut(
        id=notification_id,
        kind=draft.kind,
        title=one_line(draft.title, limit=TITLE_LIMIT),
        summary=item.summary,
        subject=SubjectOut(type=draft.subject_type, id=draft.subject_id),
        created_at=now,
        read_at=None,
    )
    after_commit(session, partial(push, redis, user_id=user_id, notification=shown))


def _shown(notification: Notification, item: InAppNotification) -> NotificationOut:
    return NotificationOut(
        id=item.notification_id,
        kind=NotificationKind(notification.kind),
        title=one_line(notification.title, limit=TITLE_LIMIT),
        summary=item.summary,
        subject=SubjectOut(type=notification.subject_type, id=notification.subject_id),
        created_at=item.created_at,
        read_at=item.read_at,
    )


_READ = InAppNotification.read_at.is_not(None)


def _after(position: Position, order: Order) -> ColumnElement[bool]:
    """The items after `position` in the list's order (newest first; unread before read first)."""
    older = tuple_(InAppNotification.created_at, InAppNotification.notification_id) < tuple_(
        position.created_at, position.notification_id
    )
    if order == "newest":
        return older
    if position.read:
        return and_(_READ, older)
    return or_(_READ, older)


async def list_notifications(
    session: AsyncSession, *, user_id: UUID, order: Order, limit: int, cursor: str | None
) -> tuple[list[NotificationOut], str | None, int]:
    """A page of the user's feed, the cursor of the next one, and how many are unread.

    Unread first is a snapshot of when each page is read: an item marked read between two
    pages may be shown twice or not at all; newest first is stable. The page and the count
    are read from one snapshot, so they agree."""
    await read_from_one_snapshot(session)
    query = (
        select(Notification, InAppNotification)
        .join(InAppNotification, InAppNotification.notification_id == Notification.id)
        .where(InAppNotification.user_id == user_id)
    )
    if cursor:
        query = query.where(_after(Position.decode(cursor), order))
    newest = (InAppNotification.created_at.desc(), InAppNotification.notification_id.desc())
    ordered = query.order_by(*newest) if order == "newest" else query.order_by(_READ, *newest)
    rows = (await session.execute(ordered.limit(limit + 1))).all()
    page = [_shown(notification, item) for notification, item in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1][1]
        next_cursor = Position(
            read=last.read_at is not None, created_at=last.created_at, notification_id=last.notification_id
        ).encode()
    return page, next_cursor, await unread_count(session, user_id=user_id)


async def unread_count(session: AsyncSession, *, user_id: UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(InAppNotification)
        .where(InAppNotification.user_id == user_id, InAppNotification.read_at.is_(None))
    )
    return count or 0


async def mark_read(session: AsyncSession, *, user_id: UUID, notification_id: UUID, now: datetime) -> NotificationOut:
    """Mark one of the user's notifications read; again changes nothing (it keeps when it was
    first read). Another user's is not found."""
    async with session.begin():
        row = (
            await session.execute(
                select(Notification, InAppNotification)
                .join(InAppNotification, InAppNotification.notification_id == Notification.id)
                .where(InAppNotification.notification_id == notification_id, InAppNotification.user_id == user_id)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("No such notification.")
        notification, item = row
        if item.read_at is None:
            item.read_at = now
        return _shown(notification, item)


async def mark_all_read(session: AsyncSession, *, user_id: UUID, now: datetime) -> int:
    """Mark every unread notification of the user's read; how many that was."""
    async with session.begin():
        marked = await session.scalars(
            update(InAppNotification)
            .where(InAppNotification.user_id == user_id, InAppNotification.read_at.is_(None))
            .values(read_at=now)
            .returning(InAppNotification.notification_id)
        )
        return len(marked.all())
