from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.payment.fees.domain import Category
from shared.money import CurrencyCode, exact_amount


class PaymentPart(BaseModel):
    """One booking's share of a payment that covers several (a cart's checkout)."""

    model_config = ConfigDict(extra="forbid")

    booking_id: UUID
    provider_id: UUID
    # The category of the booked listing, which the part's fee rule may depend on.
    category: Category
    amount: Decimal = Field(gt=0, le=Decimal("1000000"), decimal_places=2)


class ExpertShare(BaseModel):
    """The expert who booked for the traveler, and the fee booking gave them (their fee
    percentage of the sale). It is paid out of the platform's fee, never more than that fee."""

    model_config = ConfigDict(extra="forbid")

    expert_id: UUID
    fee: Decimal = Field(ge=0, le=Decimal("1000000"), decimal_places=2)


class PaymentIntentRequest(BaseModel):
    """What booking asks for while the traveler waits: an intent to pay for a booking."""

    model_config = ConfigDict(extra="forbid")

    booking_id: UUID
    provider_id: UUID
    # The category of the listing paid for, which the fee rule may depend on (a cart's parts
    # name their own).
    category: Category
    # A booking's own payment (in full, or its deposit), its balance paid by the traveler (after
    # its n-th change, `balance-early-<n>`) or charged on the n-th scheduled attempt
    # (`balance-<n>`), or the difference of its n-th modification (`change-<n>`).
    purpose: str = Field(
        default="full",
        pattern=r"^(full|deposit|balance|balance-[1-9][0-9]{0,2}|balance-early-[1-9][0-9]{0,3}|change-[1-9][0-9]{0,3})$",
    )
    amount: Decimal = Field(gt=0, le=Decimal("1000000"), decimal_places=2)
    currency: CurrencyCode
    # Charge the traveler's default saved card now, without them (an expert booking for them).
    off_session: bool = False
    # For a cart's one payment (`booking_id` is then the cart's): each booking's share.
    parts: list[PaymentPart] = Field(default_factory=list, max_length=50)
    # An expert booked it for the traveler (one booking, never a cart).
    expert: ExpertShare | None = None
    # Pay what the traveler's credit in the currency covers first (at most `credit_limit`), the
    # rest by card; credit that covers it all needs no card.
    use_credit: bool = False
    credit_limit: Decimal | None = Field(default=None, gt=0, le=Decimal("1000000"), decimal_places=2)

    @model_validator(mode="after")
    def _parts_add_up(self) -> "PaymentIntentRequest":
        if self.parts and sum(part.amount for part in self.parts) != self.amount:
            raise ValueError("the parts do not add up to the amount")
        if self.parts and self.expert is not None:
            raise ValueError("an expert's share is of one booking's payment, not a cart's")
        for amount in (self.amount, *(part.amount for part in self.parts), *([self.expert.fee] if self.expert else [])):
            exact_amount(amount, self.currency)
        return self


class PaymentIntentOut(BaseModel):
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
