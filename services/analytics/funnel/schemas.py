from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, Field


class FunnelFigures(BaseModel):
    """One group's funnel. Each step counts on the UTC day it happened (see the route), so a
    rate compares steps of the period and may exceed 1 over a short one; a rate with nothing
    before it is null."""

    group: str = Field(description="The period's first day (YYYY-MM-DD), the listing or provider id, or `all`.")
    views: int = Field(description="Reads of the listings' pages, counted per listing and hour.")
    holds: int = Field(description="Seats held: by travelers, for accepted requests, for waitlist entries.")
    bookings: int = Field(description="Bookings made (waiting for payment).")
    paid: int = Field(description="Bookings paid (in full or their deposit).")
    confirmed: int = Field(description="Bookings confirmed.")
    hold_rate: Decimal | None = Field(description="holds / views.")
    booking_rate: Decimal | None = Field(description="bookings / holds.")
    payment_rate: Decimal | None = Field(description="paid / bookings.")
    confirmation_rate: Decimal | None = Field(description="confirmed / paid.")
    requests: int = Field(description="Booking requests made.")
    accepted: int = Field(description="Requests accepted, as asked or as countered.")
    acceptance_rate: Decimal | None = Field(description="accepted / requests.")
    responses: int = Field(description="Providers' first answers to requests (accept, decline, counter).")
    response_median_seconds: float | None = Field(description="Median time from request to first answer.")
    response_p90_seconds: float | None = Field(description="90th percentile of that time (continuous).")


class Conversion(BaseModel):
    start: date
    end: date
    group_by: str | None
    provider_id: UUID | None
    listing_id: UUID | None
    total: FunnelFigures = Field(description="The whole period as one group.")
    groups: list[FunnelFigures] = Field(description="By `group_by`; empty without it.")
