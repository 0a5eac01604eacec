import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.inventory.holds.consumers import booking_events_consumer_source
from services.inventory.holds.router import router as holds_router
from services.inventory.holds.seats import RedisSeats
from services.inventory.jobs import expire_holds_forever
from services.inventory.listings.router import router as listings_router
from services.inventory.schedules.router import router as schedules_router
from services.inventory.settings import InventorySettings, get_settings
from shared.app import AppResources, create_app, run_with_restarts
from shared.clock import Clock, SystemClock


def build_app(settings: InventorySettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()

    @asynccontextmanager
    async def run_inventory(app: FastAPI, resources: AppResources) -> AsyncIterator[None]:
        seats = RedisSeats(resources.redis)
        app.state.seats = seats
        expiry = asyncio.create_task(
            run_with_restarts(
                "hold expiry",
                lambda: expire_holds_forever(
                    resources.session_factory,
                    seats=seats,
                    clock=clock,
                    interval_seconds=settings.hold_expiry_interval_seconds,
                ),
            )
        )
        try:
            yield
        finally:
            expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await expiry

    app = create_app(
        settings,
        title="Inventory",
        routers=[listings_router, schedules_router, holds_router],
        consumers=[booking_events_consumer_source(clock)],
        lifespan_hook=run_inventory,
    )
    app.state.clock = clock
    return app
