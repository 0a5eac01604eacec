from services.inventory.pricing.domain import Estimate as PricedEstimate
from services.inventory.pricing.domain import Quote as PricedQuote
from shared.contracts.inventory_api import Estimate, Quote, QuoteLine, SlotQuote

__all__ = ["EstimateOut", "QuoteOut", "SlotQuote"]


class QuoteOut(Quote):
    @classmethod
    def of(cls, priced: PricedQuote) -> "QuoteOut":
        return cls(
            subtotal=priced.subtotal,
            taxes=priced.taxes,
            total=priced.total,
            currency=priced.currency,
            basis=priced.basis,
            lines=[QuoteLine(**vars(line)) for line in priced.lines],
        )


class EstimateOut(Estimate):
    @classmethod
    def of(cls, range_: PricedEstimate) -> "EstimateOut":
        return cls(min_total=range_.min_total, max_total=range_.max_total, currency=range_.currency)
