"""Platform fee rules: admins keep them; a sale's fee comes from the one that applies
(fees/domain.py), which anyone can ask about for a listing."""

from decimal import Decimal
from uuid import UUID

import httpx
from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.payment.fees.domain import choose_rule, fee_of
from services.payment.fees.models import FeeRule
from services.payment.fees.schemas import AppliedRule, FeeQuote, FeeRuleChange, FeeRuleCreate, Money
from shared.contracts.inventory_api import ListingSummary
from shared.errors import Conflict, InvalidInput, NotFound
from shared.http_client import ServiceCalls
from shared.identity import Identity
from shared.money import require_exact_amount


async def list_rules(session: AsyncSession) -> list[FeeRule]:
    """Every rule, in the order they are tried: the most specific scope, the highest priority,
    the newest first."""
    scope_rank = func.array_position(["provider", "category", "global"], FeeRule.scope)
    rows = await session.scalars(
        select(FeeRule).order_by(scope_rank, FeeRule.priority.desc(), FeeRule.created_at.desc(), FeeRule.id.desc())
    )
    return list(rows.all())


async def create_rule(session: AsyncSession, *, request: FeeRuleCreate, admin: Identity) -> FeeRule:
    rule = FeeRule(**request.model_dump(), updated_by=admin.user_id)
    session.add(rule)
    await session.commit()
    await session.refresh(rule)
    return rule


async def change_rule(session: AsyncSession, *, rule_id: UUID, change: FeeRuleChange, admin: Identity) -> FeeRule:
    """Change the fields sent; the rule as changed is checked whole, so switching a rule from a
    percentage to a fixed amount is one change that sends both."""
    rule = await session.scalar(select(FeeRule).where(FeeRule.id == rule_id).with_for_update())
    if rule is None:
        raise NotFound("No such fee rule.")
    changed = change.model_dump(exclude_unset=True)
    current = {name: getattr(rule, name) for name in FeeRuleCreate.model_fields}
    try:
        valid = FeeRuleCreate.model_validate(current | changed)
    except ValidationError as error:
        raise InvalidInput("The fee rule would not be valid.", details={"fields": _fields_of(error)}) from None
    for name in changed:
        setattr(rule, name, getattr(valid, name))
    rule.updated_by = admin.user_id
    await session.commit()
    await session.refresh(rule)
    return rule


def _fields_of(error: ValidationError) -> list[dict[str, str]]:
    """The failing fields, as every validation error names them (shared.errors)."""
    return [
        {
            "field": ".".join(str(part) for part in detail["loc"]) or "body",
            "message": detail["msg"],
            "type": detail["type"],
        }
        for detail in error.errors()
    ]


async def fee_for(
    session: AsyncSession, *, provider_id: UUID, category: str, amount: Decimal, currency: str
) -> tuple[Decimal, FeeRule]:
    """The platform's fee on a sale of `amount` (in `currency`) of a provider's listing in
    `category`, and the rule that gave it. 409 NO_FEE_RULE when no active rule applies."""
    candidates = await session.scalars(
        select(FeeRule).where(
            FeeRule.active,
            or_(FeeRule.currency.is_(None), FeeRule.currency == currency),
            or_(FeeRule.scope == "global", FeeRule.category == category, FeeRule.provider_id == provider_id),
        )
    )
    rule = choose_rule(candidates.all(), provider_id=provider_id, category=category, currency=currency)
    if rule is None:
        raise Conflict("No active fee rule applies to this sale.", error_code="NO_FEE_RULE")
    return fee_of(rule, amount, currency), rule


async def quote(session: AsyncSession, *, inventory: httpx.AsyncClient, listing_id: UUID, amount: Decimal) -> FeeQuote:
    """The fee on `amount` of the listing's currency for a sale of the listing."""
    listing = await _listing(inventory, listing_id)
    currency = listing.currency
    require_exact_amount(amount, currency, field="amount")
    fee, rule = await fee_for(
        session,
        provider_id=listing.provider_id,
        category=listing.category,
        amount=amount,
        currency=currency,
    )
    return FeeQuote(
        listing_id=listing_id,
        amount=amount,
        currency=currency,
        fee=Money(amount=fee, currency=currency),
        rule=AppliedRule.model_validate(rule),
    )


async def _listing(inventory: httpx.AsyncClient, listing_id: UUID) -> ListingSummary:
    """The listing as inventory serves it to anyone; its refusals (404) pass through."""
    return await ServiceCalls(inventory, audience="inventory", acting=None).call(
        "GET", f"/listings/{listing_id}", answer=ListingSummary, public=True
    )
