"""Counting listing page views without writing anything per view.

A view is counted in Redis, in one hash, under a field naming the listing and the UTC hour it
was read in. A flush takes the whole hash at once (renamed to a batch key of its own, so views
counted meanwhile start a new hash) and announces one event per listing and hour, under an id
derived from the batch, the listing and the hour: a batch sent again after a crash is sent under
the same ids, and dropped as a repeat."""

from datetime import UTC, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

# One hash tag: the hash and its batches live in one Redis Cluster slot, so RENAME works there.
CURRENT_KEY = "{listing_views}:current"
BATCH_PREFIX = "{listing_views}:batch:"
_EVENT_IDS = uuid5(NAMESPACE_URL, "urn:travel:inventory:listing-views")


def hour_start(moment: datetime) -> datetime:
    """The start of the UTC hour `moment` falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def counter_field(listing_id: UUID, moment: datetime) -> str:
    """The hash field a view of the listing at `moment` is counted under."""
    return f"{listing_id}|{int(hour_start(moment).timestamp())}"


def parse_field(field: str) -> tuple[UUID, datetime]:
    """The listing and the hour's start a counter field names."""
    listing, hour = field.split("|", 1)
    return UUID(listing), datetime.fromtimestamp(int(hour), tz=UTC)


def views_event_id(batch_key: str, listing_id: UUID, hour: datetime) -> UUID:
    """The same id every time one batch's count of one listing and hour is announced."""
    return uuid5(_EVENT_IDS, f"{batch_key}|{listing_id}|{int(hour.timestamp())}")
