from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel

from services.booking.bookings.schemas import PaymentOut


class BalancePaymentOut(BaseModel):
    """The PaymentIntent for a deposit booking's balance, for the traveler to confirm."""

    booking_id: UUID
    amount: Decimal
    currency: str
    due_at: datetime
    payment: PaymentOut
