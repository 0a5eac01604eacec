"""Telling every admin of dead letters, in the transaction that reads them (no inbox: a
dead-letter record is not an event). The notification's id is the topic's alert of the hour
(`domain.alert_id`), so the unique key of notifications keeps it to one per admin, topic and
hour, on any number of replicas and however often the record is read."""

import logging
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.dead_letters.domain import DeadLetter, alert_id, alert_window
from services.notification.directory.service import admin_recipients
from services.notification.email.dead_letters import dead_letters_alert
from services.notification.notifications.domain import NotificationDraft, NotificationKind, Recipient
from services.notification.notifications.service import record_notification
from services.notification.settings import NotificationSettings

logger = logging.getLogger(__name__)


async def tell_admins_of_dead_letter(
    session: AsyncSession, dead_letter: DeadLetter, *, now: datetime, settings: NotificationSettings, redis: Redis
) -> int:
    """Record the alert of the dead letter's topic for this hour to every admin not told of it
    yet; how many were told now."""
    window = alert_window(now)
    admins = await admin_recipients(session)
    if not admins:
        logger.error(
            "%s: a message was dead-lettered (%s) and no admin is known to tell", dead_letter.topic, dead_letter.reason
        )
    told = 0
    for admin in admins:
        told += await record_notification(
            session,
            source_event_id=alert_id(dead_letter.topic, window),
            draft=_alert(dead_letter, admin, window=window, now=now, sender=settings.mail_from),
            now=now,
            addressing=settings.addressing(),
            redis=redis,
        )
    return told


def _alert(
    dead_letter: DeadLetter, admin: Recipient, *, window: datetime, now: datetime, sender: str
) -> NotificationDraft:
    message = dead_letters_alert(
        dead_letter, window=window, read_at=now, sender=sender, recipient=admin.email, locale=admin.locale
    )
    return NotificationDraft(
        kind=NotificationKind.DEAD_LETTERS,
        # The address as the message's one-line To header has it.
        recipient=Recipient(email=str(message["To"]), user_id=admin.user_id, locale=admin.locale),
        subject_type="dead_letter_topic",
        subject_id=None,
        title=str(message["Subject"]),
        email=message,
        facts={
            "topic": dead_letter.topic,
            "consumer": dead_letter.consumer,
            "reason": dead_letter.reason,
            "original_topic": dead_letter.original_topic,
            "original_partition": dead_letter.original_partition,
            "original_offset": dead_letter.original_offset,
            "attempts": dead_letter.attempts,
            "window_start": window.isoformat(),
        },
    )
