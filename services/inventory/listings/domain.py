"""Which days a listing in `calendar` mode is open, and the largest party it takes; pure."""

import itertools
import re
from datetime import date
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.contracts.inventory_api import PLATFORM_REFUND_TIERS, CancellationPolicy, RefundTier

# Listings take parties of up to this many unless their provider says otherwise.
DEFAULT_MAX_PARTY_SIZE = 20

_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


class OpenDays(BaseModel):
    """Days named by date, by weekday ("every Monday") or by day of the year ("every 25 Dec",
    written `12-25`): closed on them (`blocklist`), or open on them only (`allowlist`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["blocklist", "allowlist"] = "blocklist"
    dates: tuple[date, ...] = Field(default=(), max_length=1000)
    weekdays: tuple[int, ...] = Field(default=(), max_length=7)
    annual: tuple[str, ...] = Field(default=(), max_length=366)

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(day < 0 or day > 6 for day in value):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return value

    @field_validator("annual")
    @classmethod
    def _month_days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for month_day in value:
            if not _MONTH_DAY.match(month_day):
                raise ValueError("days of the year are written MM-DD, such as 12-25")
            date(2028, int(month_day[:2]), int(month_day[3:]))  # a leap year, so 02-29 is a day
        return value

    @model_validator(mode="after")
    def _allowlist_names_something(self) -> Self:
        if self.kind == "allowlist" and not (self.dates or self.weekdays or self.annual):
            raise ValueError("an allowlist that names no day would close the listing; switch it off instead")
        return self

    def names(self, day: date) -> bool:
        return day in self.dates or day.weekday() in self.weekdays or day.strftime("%m-%d") in self.annual

    def is_open(self, day: date) -> bool:
        return not self.names(day) if self.kind == "blocklist" else self.names(day)


class ListingRefundTier(RefundTier):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_days_before: int = Field(ge=0, le=365)
    refund_percent: Decimal = Field(ge=0, le=100, decimal_places=2)


DEFAULT_REFUND_TIERS = tuple(ListingRefundTier.model_validate(tier.model_dump()) for tier in PLATFORM_REFUND_TIERS)


class ListingCancellationPolicy(CancellationPolicy):
    """A cancellation policy as a provider may set it: at most ten tiers, on different days,
    and cancelling earlier never refunds less."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tiers: tuple[ListingRefundTier, ...] = Field(default=DEFAULT_REFUND_TIERS, max_length=10)

    @model_validator(mode="after")
    def _earlier_never_refunds_less(self) -> Self:
        ordered = sorted(self.tiers, key=lambda tier: tier.min_days_before)
        if len({tier.min_days_before for tier in ordered}) != len(ordered):
            raise ValueError("two tiers start at the same number of days")
        if any(later.refund_percent < earlier.refund_percent for earlier, later in itertools.pairwise(ordered)):
            raise ValueError("cancelling earlier must never refund less")
        return self
