from fastapi import APIRouter, Request

from services.payment.deps import ClockDep, StripeDep
from services.payment.settings import PaymentSettings
from services.payment.webhooks import service
from services.payment.webhooks.metrics import UNVERIFIED_TYPE, count_webhook
from shared.deps import SessionDep
from shared.error_codes import INVALID_SIGNATURE
from shared.openapi import problems

router = APIRouter(prefix="/payments/webhooks", tags=["Payments"])


@router.post("/stripe", responses=problems(INVALID_SIGNATURE))
async def receive_stripe_event(
    request: Request, session: SessionDep, stripe_client: StripeDep, clock: ClockDep
) -> dict[str, str]:
    settings: PaymentSettings = request.app.state.resources.settings
    try:
        event = service.verify(
            await request.body(),
            request.headers.get("stripe-signature"),
            secrets=settings.stripe_webhook_secrets(),
            tolerance_seconds=settings.stripe_webhook_tolerance_seconds,
        )
    except service.InvalidSignature:
        count_webhook(session, event_type=UNVERIFIED_TYPE, outcome="invalid")
        raise
    outcome = await service.handle_event(session, event=event, stripe_client=stripe_client, now=clock.now())
    count_webhook(session, event_type=event.type, outcome=service.webhook_outcome(outcome))
    return {"received": event.id, "outcome": outcome}
