from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.payment.connect import service
from services.payment.connect.schemas import OnboardingLink
from services.payment.deps import StripeDep
from services.payment.settings import PaymentSettings
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import BAD_GATEWAY, FORBIDDEN
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/providers/me/payouts", tags=["Payouts"])


@router.post("/onboarding", responses=problems(FORBIDDEN, BAD_GATEWAY))
async def start_payout_onboarding(
    request: Request,
    payee: Annotated[Identity, Depends(require_role("provider", "expert"))],
    session: SessionDep,
    stripe_client: StripeDep,
) -> OnboardingLink:
    """A Stripe Connect onboarding link; the Express account is made on the first ask."""
    settings: PaymentSettings = request.app.state.resources.settings
    return await service.start_onboarding(
        session,
        stripe_client=stripe_client,
        owner=payee,
        refresh_url=settings.connect_refresh_url,
        return_url=settings.connect_return_url,
    )
