from datetime import date
from decimal import Decimal

from pydantic import BaseModel


class RevenueGroup(BaseModel):
    group: str
    currency: str
    bookings: int
    gmv: Decimal
    platform_fees: Decimal
    refunds: Decimal
    net: Decimal


class Revenue(BaseModel):
    start: date
    end: date
    group_by: str
    groups: list[RevenueGroup]
