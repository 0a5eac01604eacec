from fastapi import FastAPI

from services.inventory.blackouts.router import router as blackouts_router
from services.inventory.calendar.router import router as calendar_router
from services.inventory.holds.consumers import booking_events_consumer_source
from services.inventory.holds.router import router as holds_router
from services.inventory.jobs import expire_holds_forever
from services.inventory.listings.router import router as listings_router
from services.inventory.schedules.router import router as schedules_router
from services.inventory.settings import InventorySettings, get_settings
from shared.app import AppResources, BackgroundJob, create_app
from shared.clock import Clock, SystemClock


def build_app(settings: InventorySettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()

    async def expire_holds(resources: AppResources) -> None:
        await expire_holds_forever(resources, clock=clock, interval_seconds=settings.hold_expiry_interval_seconds)

    app = create_app(
        settings,
        title="Inventory",
        routers=[listings_router, schedules_router, calendar_router, holds_router, blackouts_router],
        consumers=[booking_events_consumer_source(clock)],
        background_jobs=[BackgroundJob("hold expiry", expire_holds)],
    )
    app.state.clock = clock
    return app
