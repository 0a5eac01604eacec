"""Inventory's HTTP API as booking calls it: seats held and released, listings and slots read."""

from datetime import date
from uuid import UUID

import httpx

from shared.auth import ActingFor
from shared.contracts.inventory_api import (
    Hold,
    HoldDetails,
    HoldPlacement,
    HoldPlacementFor,
    ListingSummary,
    OpenSlots,
    Party,
    SlotForRequest,
)
from shared.http_client import ServiceCalls


class InventoryClient:
    """Inventory, called for one person (`acting`), or for nobody in particular for its public
    reads (`acting` None)."""

    def __init__(self, http: httpx.AsyncClient, *, acting: ActingFor | None) -> None:
        self._calls = ServiceCalls(http, audience="inventory", acting=acting)

    async def place_hold(self, *, slot_id: UUID, party: Party) -> Hold:
        """Hold the party's seats for the person acted for. 409 SOLD_OUT when they are not there."""
        placement = HoldPlacement(slot_id=slot_id, **party.model_dump())
        return await self._calls.call("POST", "/holds", body=placement, answer=Hold)

    async def place_hold_for(self, placement: HoldPlacementFor) -> HoldDetails:
        """Hold seats for a traveler whatever the listing's booking mode (an accepted request);
        the same `hold_id` again answers the hold already placed."""
        return await self._calls.call("POST", "/internal/holds", body=placement, answer=HoldDetails)

    async def read_hold(self, hold_id: UUID) -> HoldDetails:
        return await self._calls.call("GET", f"/holds/{hold_id}", answer=HoldDetails)

    async def release_hold(self, hold_id: UUID) -> None:
        await self._calls.send("DELETE", f"/holds/{hold_id}")

    async def read_slot_for(self, slot_id: UUID, *, party: Party) -> SlotForRequest:
        """The slot as it is now for the party: its listing, the seats left, the price."""
        return await self._calls.call(
            "GET", f"/internal/slots/{slot_id}", params=party.model_dump(), answer=SlotForRequest
        )

    async def read_listing(self, listing_id: UUID) -> ListingSummary:
        return await self._calls.call("GET", f"/listings/{listing_id}", answer=ListingSummary, public=True)

    async def open_slots(self, listing_id: UUID, *, first: date, last: date, party_size: int) -> OpenSlots:
        """The listing's slots with seats for the party from `first` to `last`, in time order."""
        return await self._calls.call(
            "GET",
            f"/listings/{listing_id}/open-slots",
            params={"from": first.isoformat(), "to": last.isoformat(), "party_size": party_size},
            answer=OpenSlots,
            public=True,
        )
