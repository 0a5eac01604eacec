from decimal import Decimal

from pydantic import BaseModel

from services.inventory.pricing.domain import Estimate, Quote


class QuoteLineOut(BaseModel):
    kind: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


class QuoteOut(BaseModel):
    subtotal: Decimal
    taxes: Decimal
    total: Decimal
    currency: str
    # Which rule set the unit price; holds placed before it was recorded have none.
    basis: str | None = None
    lines: list[QuoteLineOut]

    @classmethod
    def of(cls, priced: Quote) -> "QuoteOut":
        return cls(
            subtotal=priced.subtotal,
            taxes=priced.taxes,
            total=priced.total,
            currency=priced.currency,
            basis=priced.basis,
            lines=[QuoteLineOut(**vars(line)) for line in priced.lines],
        )


class EstimateOut(BaseModel):
    min_total: Decimal
    max_total: Decimal
    currency: str

    @classmethod
    def of(cls, range_: Estimate) -> "EstimateOut":
        return cls(min_total=range_.min_total, max_total=range_.max_total, currency=range_.currency)


class SlotQuote(BaseModel):
    """A priced quote, or for a quote-only listing the estimated range the provider gives."""

    quote: QuoteOut | None
    estimate: EstimateOut | None
