from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from services.booking.deps import ClockDep, SettingsDep
from services.booking.webhooks import service
from services.booking.webhooks.schemas import (
    DeliveryOut,
    DeliveryPage,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPage,
)
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import FORBIDDEN, NOT_FOUND
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/webhooks", tags=["Webhooks"])

# Providers for their own listings' events; admins (let through by require_role) for all.
Subscriber = Annotated[Identity, Depends(require_role("provider"))]


@router.post("/subscriptions", status_code=201, responses=problems(FORBIDDEN))
async def create_subscription(
    body: SubscriptionCreate, caller: Subscriber, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> SubscriptionCreated:
    return await service.create_subscription(
        session,
        caller=caller,
        body=body,
        clock=clock,
        allow_private=settings.allows_private_webhook_targets(),
        secrets_box=settings.webhook_secret_box(),
    )


@router.get("/subscriptions", responses=problems(FORBIDDEN))
async def list_subscriptions(caller: Subscriber, session: SessionDep) -> SubscriptionPage:
    return await service.list_subscriptions(session, caller=caller)


@router.delete("/subscriptions/{subscription_id}", status_code=204, responses=problems(FORBIDDEN, NOT_FOUND))
async def delete_subscription(subscription_id: UUID, caller: Subscriber, session: SessionDep) -> Response:
    await service.delete_subscription(session, caller=caller, subscription_id=subscription_id)
    return Response(status_code=204)


@router.get("/subscriptions/{subscription_id}/deliveries", responses=problems(FORBIDDEN, NOT_FOUND))
async def list_deliveries(
    subscription_id: UUID,
    caller: Subscriber,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> DeliveryPage:
    return await service.list_deliveries(
        session, caller=caller, subscription_id=subscription_id, limit=limit, cursor=cursor
    )


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202, responses=problems(FORBIDDEN, NOT_FOUND))
async def redeliver(delivery_id: UUID, caller: Subscriber, session: SessionDep, clock: ClockDep) -> DeliveryOut:
    return await service.redeliver(session, caller=caller, delivery_id=delivery_id, clock=clock)
