from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, status

from services.payment.fees import service
from services.payment.fees.schemas import FeeQuote, FeeRuleChange, FeeRuleCreate, FeeRuleOut, FeeRulePage
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import BAD_GATEWAY, NO_FEE_RULE, NOT_FOUND
from shared.identity import Identity
from shared.money import MAX_AMOUNT
from shared.openapi import problems

router = APIRouter(prefix="/fees", tags=["Fees"])
admin_router = APIRouter(prefix="/admin/fees", tags=["Fees"])

Admin = Annotated[Identity, Depends(require_role("admin"))]


@admin_router.get("", dependencies=[Depends(require_role("admin"))])
async def list_fee_rules(session: SessionDep) -> FeeRulePage:
    rules = await service.list_rules(session)
    return FeeRulePage(items=[FeeRuleOut.model_validate(rule) for rule in rules])


@admin_router.post("", status_code=status.HTTP_201_CREATED)
async def create_fee_rule(body: FeeRuleCreate, admin: Admin, session: SessionDep) -> FeeRuleOut:
    rule = await service.create_rule(session, request=body, admin=admin)
    return FeeRuleOut.model_validate(rule)


@admin_router.patch("/{rule_id}")
async def change_fee_rule(rule_id: UUID, body: FeeRuleChange, admin: Admin, session: SessionDep) -> FeeRuleOut:
    rule = await service.change_rule(session, rule_id=rule_id, change=body, admin=admin)
    return FeeRuleOut.model_validate(rule)


@router.get("/quote", responses=problems(NOT_FOUND, NO_FEE_RULE, BAD_GATEWAY))
async def quote_fee(
    listing_id: UUID,
    amount: Annotated[Decimal, Query(ge=0, le=MAX_AMOUNT, decimal_places=2)],
    session: SessionDep,
    request: Request,
) -> FeeQuote:
    return await service.quote(session, inventory=request.app.state.inventory, listing_id=listing_id, amount=amount)
