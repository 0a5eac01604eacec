"""Booking's upstream clients, bound to whom the calls are made for."""

from dataclasses import dataclass

import httpx

from services.booking.upstreams.inventory import InventoryClient
from services.booking.upstreams.payment import PaymentClient
from shared.auth import ActingFor, ServiceSigner
from shared.identity import Identity


@dataclass(frozen=True)
class Upstreams:
    """Inventory and payment, called for one person."""

    inventory: InventoryClient
    payment: PaymentClient


@dataclass(frozen=True)
class UpstreamPools:
    """Booking's connections to inventory and payment, and the key it vouches for people with."""

    inventory: httpx.AsyncClient
    payment: httpx.AsyncClient
    signer: ServiceSigner

    def acting_for(self, identity: Identity) -> Upstreams:
        """Calls on behalf of `identity`: the caller, or the traveler whose request a provider
        accepts, whose expert books, whose balance falls due."""
        acting = ActingFor(identity=identity, signer=self.signer)
        return Upstreams(
            inventory=InventoryClient(self.inventory, acting=acting), payment=PaymentClient(self.payment, acting=acting)
        )

    def public_inventory(self) -> InventoryClient:
        """Inventory for its public reads, on nobody's behalf."""
        return InventoryClient(self.inventory, acting=None)
