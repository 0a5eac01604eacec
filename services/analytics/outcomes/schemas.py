from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field


class OutcomeGroup(BaseModel):
    group: str = Field(description="The listing's id, or the provider's, as grouped.")
    provider_id: UUID
    listing_id: UUID | None = Field(description="Null when grouped by provider.")
    title: str | None = Field(description="The listing's title as its latest confirmed booking said it.")
    confirmed: int = Field(description="Bookings confirmed for a service date in the period, however they ended.")
    open: int = Field(description="Of them: nothing happened yet (to come, or not yet marked completed).")
    completed: int = Field(description="Of them: the slot ended with the booking confirmed.")
    no_shows: int = Field(description="Of them: the provider reported the traveler did not turn up.")
    cancelled: int = Field(description="Of them: cancelled, by either side.")
    cancelled_by_traveler: int = Field(description="Cancelled by the traveler, or for a balance left unpaid.")
    unpaid_balance: int = Field(description="Of those the traveler's: cancelled because the balance stayed unpaid.")
    cancelled_by_provider: int = Field(description="Cancelled by the provider, or by a blackout of the date.")
    blackouts: int = Field(description="Of those the provider's: cancelled by a blackout of the date.")
    cancellation_rate: float | None = Field(description="cancelled / confirmed; null when none were confirmed.")
    traveler_cancellation_rate: float | None = Field(description="cancelled_by_traveler / confirmed.")
    provider_cancellation_rate: float | None = Field(description="cancelled_by_provider / confirmed.")
    no_show_rate: float | None = Field(
        description="no_shows / (no_shows + completed): of the bookings whose slot came, the share not turned up."
    )


class Cancellations(BaseModel):
    start: date
    end: date
    group_by: str
    items: list[OutcomeGroup]
    next_cursor: str | None
