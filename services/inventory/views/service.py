"""Listing views: counted on the read path in Redis, sent in batches as
`inventory.listing_views_counted` (see domain.py).

Counting a view never fails or slows the read: it is one HINCRBY after the answer is sent,
and a Redis error is logged and the view lost. A flush (the inventory job, every
`INVENTORY_VIEW_FLUSH_INTERVAL_SECONDS`) renames the counters to a batch key, writes one outbox
event per listing and hour in one transaction, and deletes the batch. A flush that dies after
its commit leaves the batch behind; the next flush sends it again under the same event ids
(the outbox keeps the first, the consumers' inboxes drop a repeat), then deletes it."""

import logging
from datetime import datetime
from uuid import UUID, uuid4

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inventory.listings.models import Listing
from services.inventory.views.domain import BATCH_PREFIX, CURRENT_KEY, counter_field, parse_field, views_event_id
from shared.contracts.inventory import ListingViewsCounted
from shared.events.outbox import add_event_once

logger = logging.getLogger(__name__)

PRODUCER = "inventory"


async def count_view(redis: Redis, *, listing_id: UUID, at: datetime) -> None:
    """Count one read of the listing's page in its UTC hour; a Redis failure loses the view."""
    try:
        await redis.hincrby(CURRENT_KEY, counter_field(listing_id, at), 1)
    except (RedisError, OSError) as error:
        logger.warning("a view of listing %s was not counted: %r", listing_id, error)


async def flush_view_counts(session_factory: async_sessionmaker[AsyncSession], redis: Redis) -> int:
    """Send the views counted so far, and any batch a failed flush left behind; returns how many
    (listing, hour) counts were announced."""
    batches = [_text(key) async for key in redis.scan_iter(BATCH_PREFIX + "*")]
    batch_key = f"{BATCH_PREFIX}{uuid4().hex}"
    try:
        await redis.rename(CURRENT_KEY, batch_key)
        batches.append(batch_key)
    except ResponseError:
        pass  # no views since the last flush
    announced = 0
    for batch in batches:
        announced += await _send_batch(session_factory, redis, batch_key=batch)
    return announced


async def _send_batch(session_factory: async_sessionmaker[AsyncSession], redis: Redis, *, batch_key: str) -> int:
    counters = await redis.hgetall(batch_key)
    counts: dict[tuple[UUID, datetime], int] = {}
    for field, value in counters.items():
        counts[parse_field(_text(field))] = int(value)
    announced = 0
    if counts:
        async with session_factory() as session, session.begin():
            listing_ids = {listing_id for listing_id, _ in counts}
            owners = await session.execute(select(Listing.id, Listing.provider_id).where(Listing.id.in_(listing_ids)))
            providers: dict[UUID, UUID] = {row.id: row.provider_id for row in owners}
            for (listing_id, hour), views in sorted(counts.items(), key=lambda item: (str(item[0][0]), item[0][1])):
                provider_id = providers.get(listing_id)
                if provider_id is None or views <= 0:
                    continue  # not a listing of ours (a view is only counted after its listing was read)
                queued = await add_event_once(
                    session,
                    ListingViewsCounted(listing_id=listing_id, provider_id=provider_id, hour_start=hour, views=views),
                    producer=PRODUCER,
                    key=str(listing_id),
                    event_id=views_event_id(batch_key, listing_id, hour),
                )
                announced += int(queued)
    await redis.delete(batch_key)
    return announced


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
