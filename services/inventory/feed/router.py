from typing import Any
from uuid import UUID

from fastapi import APIRouter, WebSocket, status

from services.inventory.feed.publisher import channel
from services.inventory.listings.models import Listing
from shared.auth import identity_of
from shared.errors import Unauthorized
from shared.pubsub import PubSubHub, relay_to_websocket

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

    hub: PubSubHub = websocket.app.state.availability_hub
    await websocket.accept()
    async with hub.subscription(channel(listing_id)) as queue:
        await relay_to_websocket(websocket, queue, shape=lambda message: _shape(message, detailed=detailed))


def _shape(message: dict[str, Any], *, detailed: bool) -> dict[str, Any]:
    return message if detailed else {key: message[key] for key in PUBLIC_FIELDS}
