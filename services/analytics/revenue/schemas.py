from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field


class RevenueGroup(BaseModel):
    group: str
    currency: str
    bookings: int = Field(description="Bookings confirmed in the group.")
    gmv: Decimal = Field(description="Money captured for sales (deposits, balances, the extra of dearer changes).")
    platform_fees: Decimal = Field(description="Fees charged to providers, net of those given back by refunds.")
    refunds: Decimal = Field(description="Refunded to travelers, to their card or their credit.")
    net: Decimal = Field(description="GMV less refunds.")
    payouts: Decimal = Field(description="Paid out to providers' banks.")
    credits_spent: Decimal = Field(description="Part of GMV paid with travelers' credit, net of credit given back.")
    # The platform's own lines: null for a provider.
    credits: Decimal | None = Field(default=None, description="Credit the platform granted travelers (admins).")
    expert_fees: Decimal | None = Field(default=None, description="Experts' part of the platform fees (admins).")
    expert_payouts: Decimal | None = Field(default=None, description="Paid out to experts' banks (admins).")


class Revenue(BaseModel):
    start: date
    end: date
    group_by: str
    groups: list[RevenueGroup]
