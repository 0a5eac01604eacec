"""FastAPI dependencies of booking's routers."""

from typing import Annotated

from fastapi import Depends, Request

from services.booking.settings import BookingSettings
from services.booking.upstreams.binding import UpstreamPools, Upstreams
from services.booking.upstreams.inventory import InventoryClient
from shared.auth import CurrentIdentity, ServiceSignerDep
from shared.clock import Clock


def get_settings_of_app(request: Request) -> BookingSettings:
    settings: BookingSettings = request.app.state.resources.settings
    return settings


SettingsDep = Annotated[BookingSettings, Depends(get_settings_of_app)]


def get_upstream_pools(request: Request, signer: ServiceSignerDep) -> UpstreamPools:
    return UpstreamPools(inventory=request.app.state.inventory, payment=request.app.state.payment, signer=signer)


UpstreamPoolsDep = Annotated[UpstreamPools, Depends(get_upstream_pools)]


def upstreams_for_caller(pools: UpstreamPoolsDep, caller: CurrentIdentity) -> Upstreams:
    return pools.acting_for(caller)


# Inventory and payment, called on behalf of whoever made this request.
CallerUpstreams = Annotated[Upstreams, Depends(upstreams_for_caller)]


def public_inventory(pools: UpstreamPoolsDep) -> InventoryClient:
    return pools.public_inventory()


PublicInventory = Annotated[InventoryClient, Depends(public_inventory)]


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


ClockDep = Annotated[Clock, Depends(get_clock)]
