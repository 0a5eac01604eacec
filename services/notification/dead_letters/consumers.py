"""The consumer of every dead-letter topic of the platform, found by pattern (a consumer's
topic made after this one started is read too, once the metadata refresh finds it)."""

from aiokafka import ConsumerRecord
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.dead_letters.domain import read_dead_letter
from services.notification.dead_letters.service import tell_admins_of_dead_letter
from services.notification.settings import NotificationSettings
from shared.clock import Clock
from shared.events.consumer import ConsumerSpec

DEAD_LETTERS_CONSUMER = "notification.dead-letters"


def dead_letters_consumer(settings: NotificationSettings, clock: Clock, redis: Redis) -> ConsumerSpec:
    async def tell_admins(session: AsyncSession, record: ConsumerRecord[bytes, bytes]) -> None:
        dead_letter = read_dead_letter(record.topic, record.headers)
        await tell_admins_of_dead_letter(session, dead_letter, now=clock.now(), settings=settings, redis=redis)

    return ConsumerSpec(
        name=DEAD_LETTERS_CONSUMER,
        topics=(),
        handlers={},
        topic_pattern=settings.dead_letter_topic_pattern,
        record_handler=tell_admins,
    )
