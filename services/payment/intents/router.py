from fastapi import APIRouter, status

from services.payment.deps import StripeDep
from services.payment.intents import service
from services.payment.intents.schemas import PaymentIntentOut, PaymentIntentRequest
from shared.auth import CurrentIdentity
from shared.deps import SessionDep

# Called by booking while the traveler waits; the gateway routes nothing under /internal.
router = APIRouter(prefix="/internal/payment-intents", tags=["internal"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_payment_intent(
    request: PaymentIntentRequest, traveler: CurrentIdentity, session: SessionDep, stripe_client: StripeDep
) -> PaymentIntentOut:
    payment = await service.create_payment_intent(
        session, stripe_client=stripe_client, traveler=traveler, request=request
    )
    return PaymentIntentOut.model_validate(payment)
