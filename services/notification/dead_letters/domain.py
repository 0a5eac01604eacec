"""What admins are told when consumers set messages aside. Pure: no broker, no database.

A consumer that cannot apply a message publishes it, unchanged, to its dead-letter topic
(`<consumer>.dlq`) with headers saying where it came from and why: `original_topic`,
`original_partition`, `original_offset`, `attempts` and `error`. Every admin hears of it, but
of each topic at most once per hour: the notification is keyed by the topic and the clock hour
it was read in, so a burst of poison messages tells each admin once, with the first reason
read. The next hour's dead letters tell them again.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid5

ALERT_WINDOW = timedelta(hours=1)
DEAD_LETTER_SUFFIX = ".dlq"
# The namespace of the alerts' ids: one per topic and hour, the same on every replica.
_ALERTS = UUID("5b0e8f4e-3c1f-4d8a-9a57-6c1f0f5e2d31")


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered message as its record's headers describe it."""

    topic: str
    original_topic: str | None
    original_partition: int | None
    original_offset: int | None
    attempts: int | None
    reason: str

    @property
    def consumer(self) -> str:
        """The consumer that set it aside, read from the topic's name."""
        return self.topic.removesuffix(DEAD_LETTER_SUFFIX)


def read_dead_letter(topic: str, headers: Sequence[tuple[str, bytes]]) -> DeadLetter:
    """The dead letter of a record of `topic` with these headers; one published by hand, with
    headers missing or unreadable, is still a dead letter."""
    values = {name: value.decode("utf-8", "replace") for name, value in headers}
    return DeadLetter(
        topic=topic,
        original_topic=values.get("original_topic") or None,
        original_partition=_number(values.get("original_partition")),
        original_offset=_number(values.get("original_offset")),
        attempts=_number(values.get("attempts")),
        reason=values.get("error") or "no reason given (the record has no error header)",
    )


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def alert_window(at: datetime) -> datetime:
    """The start of the hour (UTC) `at` is in: admins hear of a topic once in it."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def alert_id(topic: str, window: datetime) -> UUID:
    """The id the alert of `topic` in the hour starting at `window` is recorded under."""
    return uuid5(_ALERTS, f"{topic}|{window.isoformat()}")
