from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, Field


class ListingRevenue(BaseModel):
    currency: str
    gmv: Decimal = Field(description="Money captured for the listing's sales in the period (see revenue).")
    refunds: Decimal
    net: Decimal = Field(description="GMV less refunds.")


class PopularListing(BaseModel):
    rank: int
    listing_id: UUID
    provider_id: UUID
    title: str | None = Field(description="As the listing's latest confirmed booking said it.")
    category: str | None
    bookings: int = Field(description="Bookings confirmed in the period (in `currency` when one is asked).")
    revenue: list[ListingRevenue] = Field(description="Per currency (only `currency` when one is asked).")


class PopularListings(BaseModel):
    start: date
    end: date
    by: str
    currency: str | None
    items: list[PopularListing]
