from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from services.notification.notifications import service
from services.notification.notifications.schemas import DeliveryOut
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import CONFLICT, NOT_FOUND
from shared.identity import Identity
from shared.openapi import problems

admin_router = APIRouter(prefix="/admin/notifications", tags=["Notifications"])

Admin = Annotated[Identity, Depends(require_role("admin"))]


@admin_router.post("/deliveries/{delivery_id}/resend", responses=problems(NOT_FOUND, CONFLICT))
async def resend_delivery(delivery_id: UUID, _: Admin, session: SessionDep, request: Request) -> DeliveryOut:
    """Send a dead delivery again: it is due at once, with a new retry window."""
    delivery = await service.resend_dead_delivery(session, delivery_id=delivery_id, now=request.app.state.clock.now())
    return DeliveryOut.model_validate(delivery)
