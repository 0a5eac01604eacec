from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from services.payment.fees.domain import FeeTerms

PRIORITY_LIMIT = 1_000_000


class FeeRuleCreate(FeeTerms):
    priority: int = Field(default=0, ge=-PRIORITY_LIMIT, le=PRIORITY_LIMIT)
    active: bool = True


class FeeRuleChange(BaseModel):
    """Only the fields sent change; null clears an optional one. The rule as changed must
    still be valid as a whole."""

    model_config = ConfigDict(extra="forbid")

    scope: str | None = None
    category: str | None = None
    provider_id: UUID | None = None
    percentage: Decimal | None = None
    fixed_amount: Decimal | None = None
    min_fee: Decimal | None = None
    max_fee: Decimal | None = None
    currency: str | None = None
    priority: int | None = None
    active: bool | None = None


class AppliedRule(BaseModel):
    """A rule as a quote names it."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    scope: str
    category: str | None
    provider_id: UUID | None
    percentage: Decimal | None
    fixed_amount: Decimal | None
    min_fee: Decimal | None
    max_fee: Decimal | None
    currency: str | None
    priority: int

    @field_serializer("percentage")
    def _percentage_without_trailing_zeros(self, value: Decimal | None) -> str | None:
        # Stored with four places; 7.5 reads better than 7.5000.
        return None if value is None else f"{value.normalize():f}"


class FeeRuleOut(AppliedRule):
    active: bool
    updated_by: UUID | None
    created_at: datetime
    updated_at: datetime


class FeeRulePage(BaseModel):
    items: list[FeeRuleOut]
    next_cursor: str | None = None


class Money(BaseModel):
    amount: Decimal
    currency: str


class FeeQuote(BaseModel):
    listing_id: UUID
    amount: Decimal
    currency: str
    fee: Money
    rule: AppliedRule
