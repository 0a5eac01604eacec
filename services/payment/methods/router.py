from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from services.payment.deps import StripeDep
from services.payment.methods import service
from services.payment.methods.schemas import SavedMethodOut, SavedMethodPage, SaveMethodRequest
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import BAD_GATEWAY, CARD_DECLINED
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/payments/methods", tags=["Payments"])

Traveler = Annotated[Identity, Depends(require_role("traveler"))]


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(CARD_DECLINED, BAD_GATEWAY))
async def save_payment_method(
    body: SaveMethodRequest, traveler: Traveler, session: SessionDep, stripe_client: StripeDep
) -> SavedMethodOut:
    method = await service.save_method(session, stripe_client=stripe_client, traveler=traveler, request=body)
    return SavedMethodOut.model_validate(method)


@router.get("")
async def list_payment_methods(traveler: Traveler, session: SessionDep) -> SavedMethodPage:
    methods = await service.methods_of(session, traveler=traveler)
    return SavedMethodPage(items=[SavedMethodOut.model_validate(method) for method in methods])


@router.delete("/{method_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_payment_method(
    method_id: UUID, traveler: Traveler, session: SessionDep, stripe_client: StripeDep
) -> Response:
    await service.remove_method(session, stripe_client=stripe_client, traveler=traveler, method_id=method_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
