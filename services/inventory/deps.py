"""Dependencies the inventory routers share."""

from typing import Annotated

from fastapi import Depends, Request

from services.inventory.holds.seats import RedisSeats
from shared.auth import require_role
from shared.clock import Clock
from shared.deps import ResourcesDep
from shared.identity import Identity


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_seats(resources: ResourcesDep) -> RedisSeats:
    return RedisSeats(resources.redis)


ClockDep = Annotated[Clock, Depends(get_clock)]
SeatsDep = Annotated[RedisSeats, Depends(get_seats)]
Provider = Annotated[Identity, Depends(require_role("provider"))]
Traveler = Annotated[Identity, Depends(require_role("traveler"))]
