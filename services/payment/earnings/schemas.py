from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class CurrencyEarnings(BaseModel):
    """A provider's earnings in one currency: `net` = `gross_sales` - `platform_fees` - `refunds`,
    what the platform owes them (what it has paid out of that: GET /providers/me/payouts)."""

    currency: str
    gross_sales: Decimal
    # The fees kept: charged on sales, less what refunds gave back.
    platform_fees: Decimal
    refunds: Decimal
    net: Decimal


class EarningsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    provider_id: UUID
    # The days (UTC) counted, both included; none means from the first or to the last.
    from_date: date | None = Field(alias="from")
    to_date: date | None = Field(alias="to")
    currencies: list[CurrencyEarnings]
