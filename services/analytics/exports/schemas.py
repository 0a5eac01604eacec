from typing import Literal

from pydantic import BaseModel

from services.analytics.revenue.service import GroupBy

# The formats an export is written in.
ExportFormat = Literal["csv"]


class NoOptions(BaseModel):
    """A report that takes nothing but its period."""


class RevenueOptions(BaseModel):
    group_by: GroupBy = "day"
