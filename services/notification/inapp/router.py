from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, WebSocket, status

from services.notification.inapp import service
from services.notification.inapp.domain import Order
from services.notification.inapp.live import channel
from services.notification.inapp.schemas import MarkedReadOut, NotificationOut, NotificationPage, UnreadCountOut
from shared.auth import CurrentIdentity, identity_of
from shared.deps import SessionDep
from shared.error_codes import NOT_FOUND
from shared.errors import Unauthorized
from shared.openapi import problems
from shared.pubsub import PubSubHub, relay_to_websocket

router = APIRouter(prefix="/notifications", tags=["Notifications"])
feed_router = APIRouter(tags=["Notifications"])


@router.get("")
async def list_notifications(
    viewer: CurrentIdentity,
    session: SessionDep,
    order: Order = "newest",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> NotificationPage:
    """The caller's in-app notifications, newest first or unread first, with how many are unread."""
    items, next_cursor, unread = await service.list_notifications(
        session, user_id=viewer.user_id, order=order, limit=limit, cursor=cursor
    )
    return NotificationPage(items=items, next_cursor=next_cursor, unread_count=unread)


@router.get("/unread-count")
async def count_unread_notifications(viewer: CurrentIdentity, session: SessionDep) -> UnreadCountOut:
    return UnreadCountOut(unread_count=await service.unread_count(session, user_id=viewer.user_id))


@router.post("/read-all")
async def mark_all_notifications_read(viewer: CurrentIdentity, session: SessionDep, request: Request) -> MarkedReadOut:
    marked = await service.mark_all_read(session, user_id=viewer.user_id, now=request.app.state.clock.now())
    return MarkedReadOut(marked_read=marked, unread_count=await service.unread_count(session, user_id=viewer.user_id))


@router.post("/{notification_id}/read", responses=problems(NOT_FOUND))
async def mark_notification_read(
    notification_id: UUID, viewer: CurrentIdentity, session: SessionDep, request: Request
) -> NotificationOut:
    """Mark one of the caller's notifications read; marking it again changes nothing."""
    return await service.mark_read(
        session, user_id=viewer.user_id, notification_id=notification_id, now=request.app.state.clock.now()
    )


@feed_router.websocket("/ws/notifications")
async def notification_feed(websocket: WebSocket) -> None:
    """The signed-in caller's new in-app notifications, as they are recorded on any replica."""
    try:
        viewer = await identity_of(websocket)
    except Unauthorized:
        viewer = None
    if viewer is None:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="sign in to follow notifications")
        return
    hub: PubSubHub = websocket.app.state.notification_hub
    await websocket.accept()
    async with hub.subscription(channel(viewer.user_id)) as queue:
        await relay_to_websocket(websocket, queue)
