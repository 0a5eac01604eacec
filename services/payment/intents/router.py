from fastapi import APIRouter, Request, status

from services.payment.deps import StripeDep
from services.payment.intents import service
from services.payment.intents.schemas import PaymentIntentOut, PaymentIntentRequest
from services.payment.settings import PaymentSettings
from shared.auth import CurrentIdentity
from shared.deps import SessionDep

# Called by booking while the traveler waits; the gateway routes nothing under /internal.
router = APIRouter(prefix="/internal/payment-intents", tags=["internal"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_payment_intent(
    body: PaymentIntentRequest,
    traveler: CurrentIdentity,
    session: SessionDep,
    stripe_client: StripeDep,
    request: Request,
) -> PaymentIntentOut:
    payment = await service.create_payment_intent(session, stripe_client=stripe_client, traveler=traveler, request=body)
    settings: PaymentSettings = request.app.state.resources.settings
    return PaymentIntentOut(
        id=payment.id,
        booking_id=payment.booking_id,
        purpose=payment.purpose,
        payment_intent_id=payment.payment_intent_id,
        client_secret=payment.client_secret,
        amount=payment.amount,
        currency=payment.currency,
        status=payment.status,
        platform_fee=service.platform_fee(payment, fee_percent=settings.platform_fee_percent),
    )
