from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from services.analytics.funnel.service import GroupBy as ConversionGroupBy
from services.analytics.occupancy.service import GroupBy as OccupancyGroupBy
from services.analytics.outcomes.service import GroupBy as CancellationGroupBy
from services.analytics.popular.service import RankBy
from services.analytics.revenue.service import GroupBy

# The formats an export is written in.
ExportFormat = Literal["csv"]


class NoOptions(BaseModel):
    """A report that takes nothing but its period."""


class RevenueOptions(BaseModel):
    group_by: GroupBy = "day"


class ConversionOptions(BaseModel):
    # None: the period as one row, `all`.
    group_by: ConversionGroupBy | None = None
    provider_id: UUID | None = None
    listing_id: UUID | None = None


class PopularOptions(BaseModel):
    by: RankBy = "bookings"
    currency: Annotated[str | None, Field(pattern="^[A-Z]{3}$")] = None
    provider_id: UUID | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 100

    @model_validator(mode="after")
    def _revenue_is_ranked_in_one_currency(self) -> Self:
        if self.by == "revenue" and self.currency is None:
            raise ValueError("ranking by revenue needs a currency: currencies do not add up")
        return self


class OccupancyOptions(BaseModel):
    group_by: OccupancyGroupBy = "day"
    listing_id: UUID | None = None


class CancellationOptions(BaseModel):
    group_by: CancellationGroupBy = "listing"
