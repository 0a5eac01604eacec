"""What a transaction of payment's ledger means to revenue, and to whom it counts.

Payment's ledger (announced as `payment.ledger_transaction_recorded`) has the accounts
`stripe_balance`, `provider_payable:<id>`, `expert_payable:<id>`, `platform_revenue`,
`traveler_credit:<id>` and `platform_credit_expense`; debits are positive, credits negative.
Each kind of transaction is read from its entries:

- `capture`: each provider's sale is credited to their payable (GMV) and our fee debited back
  from it on its own line (platform fees); what the traveler's credit paid is debited to their
  credit account (credits spent).
- `refund`: each provider's payable is debited with the refund (refunds) and credited with the
  fee given back (platform fees, negative); a refund into credit credits the traveler's credit
  account (credits spent, negative).
- `credit_grant`: the platform's goodwill, debited to `platform_credit_expense` (credits).
- `expert_fee`: the expert's part of our fee, debited to `platform_revenue` (expert fees;
  negative when a refund takes it back).
- `payout`: money paid out of Stripe to a provider (payouts) or an expert (expert payouts),
  debited to their payable.

So, against the ledger: GMV - refunds - platform fees is what the providers' payables were
credited net by sales and refunds; platform fees - expert fees is what `platform_revenue` was
credited; credits is `platform_credit_expense`'s balance; payouts are the payables' debits by
payouts. GMV is money captured for sales (a deposit booking cancelled for an unpaid balance
counts its deposit, a dearer change its extra), not the booked total.

Amounts on a provider's account count to that provider; the rest of a transaction counts to the
booking's provider, once the booking's confirmation has told who that is."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import Decimal
from uuid import UUID

PROVIDER_PAYABLE = "provider_payable:"
EXPERT_PAYABLE = "expert_payable:"
TRAVELER_CREDIT = "traveler_credit:"
PLATFORM_REVENUE = "platform_revenue"
PLATFORM_CREDIT_EXPENSE = "platform_credit_expense"

CAPTURE = "capture"
REFUND = "refund"
CREDIT_GRANT = "credit_grant"
EXPERT_FEE = "expert_fee"
PAYOUT = "payout"

ZERO = Decimal(0)


@dataclass(frozen=True)
class Amounts:
    """The sums revenue reports, each in the transaction's currency."""

    gmv: Decimal = ZERO
    platform_fees: Decimal = ZERO
    refunds: Decimal = ZERO
    credits: Decimal = ZERO
    credits_spent: Decimal = ZERO
    payouts: Decimal = ZERO
    expert_fees: Decimal = ZERO
    expert_payouts: Decimal = ZERO

    def __add__(self, other: "Amounts") -> "Amounts":
        return Amounts(**{name: getattr(self, name) + getattr(other, name) for name in AMOUNT_FIELDS})

    def __neg__(self) -> "Amounts":
        return Amounts(**{name: -getattr(self, name) for name in AMOUNT_FIELDS})

    def as_dict(self) -> dict[str, Decimal]:
        return {name: getattr(self, name) for name in AMOUNT_FIELDS}

    @property
    def is_zero(self) -> bool:
        return all(value == 0 for value in self.as_dict().values())


AMOUNT_FIELDS = tuple(field.name for field in fields(Amounts))


@dataclass(frozen=True)
class Movement:
    """The part of a transaction that counts to one provider (`provider_id`, from their payable
    account), or to the booking's provider whoever that is (`provider_id` None)."""

    provider_id: UUID | None
    amounts: Amounts


@dataclass(frozen=True)
class Attribution:
    """Where a movement or a booking is counted: None where not known (yet)."""

    provider_id: UUID | None
    listing_id: UUID | None
    category: str | None


@dataclass(frozen=True)
class BookingFacts:
    provider_id: UUID
    listing_id: UUID
    category: str


def classify(kind: str, entries: Iterable[tuple[str, Decimal]]) -> list[Movement]:
    """The movements of one ledger transaction, by provider; none for a kind revenue does not
    know (its event is kept, so a later reading can count it on a replay)."""
    per_provider: dict[UUID, Amounts] = defaultdict(Amounts)
    booking = Amounts()
    for account, amount in entries:
        debit, credit = max(amount, ZERO), max(-amount, ZERO)
        if account.startswith(PROVIDER_PAYABLE):
            provider = UUID(account.removeprefix(PROVIDER_PAYABLE))
            if kind == CAPTURE:
                per_provider[provider] += Amounts(gmv=credit, platform_fees=debit)
            elif kind == REFUND:
                per_provider[provider] += Amounts(refunds=debit, platform_fees=-credit)
            elif kind == PAYOUT:
                per_provider[provider] += Amounts(payouts=amount)
        elif account.startswith(TRAVELER_CREDIT) and kind in (CAPTURE, REFUND):
            booking += Amounts(credits_spent=amount)
        elif account == PLATFORM_CREDIT_EXPENSE and kind == CREDIT_GRANT:
            booking += Amounts(credits=amount)
        elif account == PLATFORM_REVENUE and kind == EXPERT_FEE:
            booking += Amounts(expert_fees=amount)
        elif account.startswith(EXPERT_PAYABLE) and kind == PAYOUT:
            booking += Amounts(expert_payouts=amount)
    movements = [Movement(provider, amounts) for provider, amounts in sorted(per_provider.items())]
    if not booking.is_zero:
        movements.append(Movement(None, booking))
    return movements


def attribute(movement_provider: UUID | None, booking: BookingFacts | None) -> Attribution:
    """A movement counts to the booking's listing and category when it is the booking's
    provider's (a cart's capture also carries other providers' shares: those count to their
    provider alone); before the booking is known, to the provider its account names."""
    if booking is not None and movement_provider in (None, booking.provider_id):
        return Attribution(booking.provider_id, booking.listing_id, booking.category)
    return Attribution(movement_provider, None, None)
