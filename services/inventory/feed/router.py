import asyncio
import contextlib
from typing import Any
from uuid import UUID

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from services.inventory.feed.hub import AvailabilityHub
from services.inventory.listings.models import Listing
from shared.auth import identity_of
from shared.errors import Unauthorized

router = APIRouter(tags=["Availability"])

PUBLIC_FIELDS = ("type", "listing_id", "slot_id", "available", "capacity", "at")


@router.websocket("/ws/availability")
async def availability_feed(websocket: WebSocket, listing_id: UUID) -> None:
    """Every change of the listing's slots: counts for anyone, what changed for its owner."""
    try:
        viewer = await identity_of(websocket)
    except Unauthorized:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    async with websocket.app.state.resources.session_factory() as session:
        listing = await session.get(Listing, listing_id)
    if listing is None or listing.archived_at is not None:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="no such listing")
        return
    detailed = viewer is not None and (viewer.is_admin or viewer.user_id == listing.provider_id)

    hub: AvailabilityHub = websocket.app.state.availability_hub
    await websocket.accept()
    queue = await hub.subscribe(str(listing_id))
    closed = asyncio.create_task(_until_closed(websocket))
    try:
        while not closed.done():
            next_message = asyncio.create_task(queue.get())
            await asyncio.wait({next_message, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not next_message.done():
                next_message.cancel()
                break
            await websocket.send_json(_shape(next_message.result(), detailed=detailed))
    except WebSocketDisconnect:
        pass
    finally:
        closed.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await closed
        await hub.unsubscribe(str(listing_id), queue)


def _shape(message: dict[str, Any], *, detailed: bool) -> dict[str, Any]:
    return message if detailed else {key: message[key] for key in PUBLIC_FIELDS}


async def _until_closed(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
