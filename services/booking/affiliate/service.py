"""Tracked partner links for a listing, and the redirect that counts each click."""

import secrets
import string
from uuid import UUID, uuid4

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.affiliate.domain import (
    PARTNERS_BY_CATEGORY,
    TEMPLATES,
    Partner,
    partner_url,
    search_text,
)
from services.booking.affiliate.models import AffiliateClick, AffiliateLink
from services.booking.affiliate.schemas import AffiliateLinkOut, AffiliateLinkPage
from services.booking.bookings.service import PRODUCER
from services.booking.upstreams.inventory import InventoryClient
from shared.clock import Clock
from shared.contracts.booking import AffiliateLinkClicked
from shared.errors import NotFound
from shared.events.outbox import add_event

CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 10


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def links_for_listing(
    session: AsyncSession, *, listing_id: UUID, inventory: InventoryClient, partner_ids: dict[Partner, str]
) -> AffiliateLinkPage:
    """The partner links that suit a listing's category, made on first asking and the same
    codes ever after."""
    listing = await inventory.read_listing(listing_id)
    partners: tuple[Partner, ...] = PARTNERS_BY_CATEGORY.get(listing.category, ())
    links: dict[str, AffiliateLink] = {}
    # A new code that happens to be taken is skipped by the insert and drawn again.
    for _ in range(3):
        missing = [partner for partner in partners if partner not in links]
        if not missing:
            break
        await session.execute(
            insert(AffiliateLink)
            .values(
                [
                    {
                        "id": uuid4(),
                        "code": new_code(),
                        "listing_id": listing_id,
                        "partner": partner,
                        "query": search_text(partner, title=listing.title, city=listing.city),
                        "clicks": 0,
                    }
                    for partner in missing
                ]
            )
            .on_conflict_do_nothing()
        )
        await session.commit()
        found = await session.scalars(select(AffiliateLink).where(AffiliateLink.listing_id == listing_id))
        links = {link.partner: link for link in found}
    return AffiliateLinkPage(
        listing_id=listing_id,
        items=[_link_out(links[partner], partner_ids) for partner in partners if partner in links],
    )


def _link_out(link: AffiliateLink, partner_ids: dict[Partner, str]) -> AffiliateLinkOut:
    partner: Partner = link.partner  # type: ignore[assignment]
    return AffiliateLinkOut(
        partner=partner,
        name=TEMPLATES[partner].name,
        code=link.code,
        url=f"/api/v1/r/{link.code}",
        target_url=partner_url(partner, partner_id=partner_ids[partner], query=link.query),
        clicks=link.clicks,
    )


async def follow_link(
    session: AsyncSession,
    *,
    code: str,
    user_agent: str | None,
    referrer: str | None,
    partner_ids: dict[Partner, str],
    clock: Clock,
) -> str:
    """Count a click on a link (atomically, however many arrive at once) and say where it goes."""
    counted = (
        await session.execute(
            update(AffiliateLink)
            .where(AffiliateLink.code == code)
            .values(clicks=AffiliateLink.clicks + 1)
            .returning(AffiliateLink.id, AffiliateLink.partner, AffiliateLink.query, AffiliateLink.listing_id)
        )
    ).one_or_none()
    if counted is None:
        raise NotFound("No such link.")
    now = clock.now()
    session.add(
        AffiliateClick(
            link_id=counted.id,
            clicked_at=now,
            user_agent=(user_agent or "")[:300] or None,
            referrer=(referrer or "")[:500] or None,
        )
    )
    add_event(
        session,
        AffiliateLinkClicked(code=code, partner=counted.partner, listing_id=counted.listing_id, clicked_at=now),
        producer=PRODUCER,
        key=code,
    )
    await session.commit()
    return partner_url(counted.partner, partner_id=partner_ids[counted.partner], query=counted.query)
