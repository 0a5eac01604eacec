"""Pricing a party on a slot of a listing."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.inventory.listings.lookup import get_listing
from services.inventory.listings.models import Listing
from services.inventory.pricing.domain import (
    Party,
    PricingRules,
    Quote,
    UnitPrice,
    estimate,
    quote,
    unit_price_on,
)
from services.inventory.pricing.schemas import EstimateOut, QuoteOut, SlotQuote
from services.inventory.schedules.models import Slot
from shared.errors import Conflict, NotFound


def listing_rules(listing: Listing) -> PricingRules:
    return PricingRules.model_validate(listing.pricing)


def slot_unit_price(listing: Listing, slot: Slot) -> UnitPrice:
    return unit_price_on(
        slot.local_date,
        base_price=listing.base_price,
        slot_override=slot.price_override,
        rules=listing_rules(listing),
        currency=listing.currency,
    )


def price_party(listing: Listing, slot: Slot, party: Party) -> Quote:
    """The quote a hold carries; 409 QUOTE_ONLY for listings priced case by case."""
    rules = listing_rules(listing)
    if rules.quote_only:
        raise Conflict("This listing is priced on request; ask the provider for a quote.", error_code="QUOTE_ONLY")
    return quote(unit=slot_unit_price(listing, slot), currency=listing.currency, party=party, rules=rules)


async def quote_slot(session: AsyncSession, *, listing_id: UUID, slot_id: UUID, party: Party) -> SlotQuote:
    listing = await get_listing(session, listing_id=listing_id)
    slot = await session.get(Slot, slot_id)
    if slot is None or slot.listing_id != listing.id:
        raise NotFound("No such slot.")
    rules = listing_rules(listing)
    if rules.quote_only and rules.estimate is not None:
        range_ = estimate(estimate_range=rules.estimate, currency=listing.currency, party=party, rules=rules)
        return SlotQuote(quote=None, estimate=EstimateOut.of(range_))
    return SlotQuote(quote=QuoteOut.of(price_party(listing, slot, party)), estimate=None)
