"""What booking sends to payment's HTTP API and reads from it, while a person waits.

Payment answers with these shapes (or subclasses of them) and checks what it is sent by its own
rules; booking reads them, ignoring fields it does not know. Refunds and credits travel as
events, not over HTTP.
"""

from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class PaymentShape(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PaymentPart(PaymentShape):
    """One booking's share of a payment that covers several (a cart's checkout)."""

    booking_id: UUID
    provider_id: UUID
    # The category of the booked listing, which the part's fee rule may depend on.
    category: str
    amount: Decimal


class ExpertShare(PaymentShape):
    """The expert who booked for the traveler, and the fee booking gave them (their fee
    percentage of the sale). It is paid out of the platform's fee, never more than that fee."""

    expert_id: UUID
    fee: Decimal


class PaymentIntentRequest(PaymentShape):
    """`POST /internal/payment-intents`: an intent to pay for a booking (or a cart's bookings)."""

    booking_id: UUID
    provider_id: UUID
    # The category of the listing paid for, which the fee rule may depend on (a cart's parts
    # name their own).
    category: str
    # A booking's own payment (in full, or its deposit), its balance paid by the traveler (after
    # its n-th change, `balance-early-<n>`) or charged on the n-th scheduled attempt
    # (`balance-<n>`), or the difference of its n-th modification (`change-<n>`).
    purpose: str = "full"
    amount: Decimal
    currency: str
    # Charge the traveler's default saved card now, without them (an expert booking for them).
    off_session: bool = False
    # For a cart's one payment (`booking_id` is then the cart's): each booking's share.
    parts: tuple[PaymentPart, ...] = ()
    # An expert booked it for the traveler (one booking, never a cart).
    expert: ExpertShare | None = None
    # Pay what the traveler's credit in the currency covers first (at most `credit_limit`), the
    # rest by card; credit that covers it all needs no card.
    use_credit: bool = False
    credit_limit: Decimal | None = None


class PaymentIntent(PaymentShape):
    id: UUID
    booking_id: UUID
    purpose: str
    # None when the traveler's credit pays it all: there is nothing to pay at Stripe.
    payment_intent_id: str | None
    client_secret: str | None
    amount: Decimal
    currency: str
    status: str
    # What the platform keeps of it, by the fee rules.
    platform_fee: Decimal
    # Of `amount`, what the traveler's credit pays and what the card pays.
    credit_amount: Decimal
    card_amount: Decimal
