from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.inventory_api import Hold, HoldPlacement, HoldPlacementFor

MAX_PARTY = 50


class HoldCreate(HoldPlacement):
    """The party, as counts or as every traveler's age (sorted by the listing's age bands)."""

    model_config = ConfigDict(extra="forbid")

    slot_id: UUID
    adults: int = Field(default=1, ge=0, le=MAX_PARTY)
    children: int = Field(default=0, ge=0, le=MAX_PARTY)
    infants: int = Field(default=0, ge=0, le=MAX_PARTY)
    ages: list[Annotated[int, Field(ge=0, le=120)]] | None = Field(default=None, min_length=1, max_length=MAX_PARTY)

    @model_validator(mode="after")
    def _someone_comes(self) -> "HoldCreate":
        if self.ages is not None:
            if self.model_fields_set & {"adults", "children", "infants"}:
                raise ValueError("give either ages or the counts of adults, children and infants")
            return self
        if self.adults + self.children + self.infants == 0:
            raise ValueError("a hold needs at least one person")
        if self.adults + self.children + self.infants > MAX_PARTY:
            raise ValueError(f"a party is at most {MAX_PARTY} people")
        if self.adults == 0:
            raise ValueError("children and infants travel with an adult")
        return self


class PartyCounts(BaseModel):
    """A party as counts: at least one adult, at most MAX_PARTY people."""

    model_config = ConfigDict(extra="forbid")

    adults: int = Field(default=1, ge=1, le=MAX_PARTY)
    children: int = Field(default=0, ge=0, le=MAX_PARTY)
    infants: int = Field(default=0, ge=0, le=MAX_PARTY)

    @model_validator(mode="after")
    def _not_too_many(self) -> "PartyCounts":
        if self.adults + self.children + self.infants > MAX_PARTY:
            raise ValueError(f"a party is at most {MAX_PARTY} people")
        return self


class InternalHoldCreate(PartyCounts, HoldPlacementFor):
    """Seats another service holds for a traveler (an accepted booking request), whatever the
    listing's booking mode. The caller names the hold, so a retry finds the one it placed."""

    hold_id: UUID
    slot_id: UUID
    holder_id: UUID
    # The payment window: from a minute to a week.
    ttl_seconds: int = Field(ge=60, le=7 * 86_400)
    # A price the provider agreed to, for the whole party: it replaces the quote's total.
    agreed_total: Decimal | None = Field(default=None, gt=0, le=Decimal("1000000"), decimal_places=2)


class HoldOut(Hold):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
