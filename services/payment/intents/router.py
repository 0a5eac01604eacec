from fastapi import APIRouter, status

from services.payment.deps import ClockDep, StripeDep
from services.payment.intents import service
from services.payment.intents.schemas import PaymentIntentRequest
from shared.auth import CurrentIdentity
from shared.contracts.payment_api import PaymentIntent
from shared.deps import SessionDep
from shared.error_codes import BAD_GATEWAY, PAYMENT_REFUSALS
from shared.openapi import problems

# Called by booking while the traveler waits; the gateway routes nothing under /internal.
router = APIRouter(prefix="/internal/payment-intents", tags=["Internal"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(*PAYMENT_REFUSALS, BAD_GATEWAY))
async def create_payment_intent(
    body: PaymentIntentRequest,
    traveler: CurrentIdentity,
    session: SessionDep,
    stripe_client: StripeDep,
    clock: ClockDep,
) -> PaymentIntent:
    payment = await service.create_payment_intent(
        session, stripe_client=stripe_client, traveler=traveler, request=body, now=clock.now()
    )
    return PaymentIntent(
        id=payment.id,
        booking_id=payment.booking_id,
        purpose=payment.purpose,
        payment_intent_id=payment.payment_intent_id if payment.at_stripe else None,
        client_secret=payment.client_secret if payment.at_stripe else None,
        amount=payment.amount,
        currency=payment.currency,
        status=payment.status,
        platform_fee=payment.platform_fee,
        credit_amount=payment.credit_amount,
        card_amount=payment.card_amount,
    )
