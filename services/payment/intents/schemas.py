"""The payment-intent request as payment accepts it: the contract's shape, with payment's own
limits and rules on it."""

from decimal import Decimal

from pydantic import Field, model_validator

from services.payment.fees.domain import Category
from shared.contracts import payment_api
from shared.money import CurrencyCode, exact_amount


class PaymentPart(payment_api.PaymentPart):
    category: Category
    amount: Decimal = Field(gt=0, le=Decimal("1000000"), decimal_places=2)


class ExpertShare(payment_api.ExpertShare):
    fee: Decimal = Field(ge=0, le=Decimal("1000000"), decimal_places=2)


class PaymentIntentRequest(payment_api.PaymentIntentRequest):
    category: Category
    purpose: str = Field(
        default="full",
        pattern=r"^(full|deposit|balance|balance-[1-9][0-9]{0,2}|balance-early-[1-9][0-9]{0,3}|change-[1-9][0-9]{0,3})$",
    )
    amount: Decimal = Field(gt=0, le=Decimal("1000000"), decimal_places=2)
    currency: CurrencyCode
    parts: tuple[PaymentPart, ...] = Field(default=(), max_length=50)
    expert: ExpertShare | None = None
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
