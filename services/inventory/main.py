from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.inventory.blackouts.router import router as blackouts_router
from services.inventory.calendar.router import router as calendar_router
from services.inventory.feed.router import router as feed_router
from services.inventory.holds.consumers import booking_events_consumer_source
from services.inventory.holds.router import internal_router as internal_holds_router
from services.inventory.holds.router import router as holds_router
from services.inventory.jobs import expire_holds_forever, flush_views_forever, reconcile_forever, top_up_slots_forever
from services.inventory.listings.router import router as listings_router
from services.inventory.pricing.router import router as pricing_router
from services.inventory.schedules.router import internal_router as internal_slots_router
from services.inventory.schedules.router import router as schedules_router
from services.inventory.settings import InventorySettings, get_settings
from shared.app import AppResources, BackgroundJob, create_app
from shared.clock import Clock, SystemClock
from shared.pubsub import PubSubHub


def build_app(settings: InventorySettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()

    async def expire_holds(resources: AppResources) -> None:
        await expire_holds_forever(resources, clock=clock, interval_seconds=settings.hold_expiry_interval_seconds)

    async def top_up(resources: AppResources) -> None:
        await top_up_slots_forever(
            resources,
            clock=clock,
            horizon_days=settings.slot_horizon_days,
            interval_seconds=settings.slot_top_up_interval_seconds,
        )

    async def reconcile(resources: AppResources) -> None:
        await reconcile_forever(resources, clock=clock, interval_seconds=settings.reconcile_interval_seconds)

    async def flush_views(resources: AppResources) -> None:
        await flush_views_forever(resources, interval_seconds=settings.view_flush_interval_seconds)

    @asynccontextmanager
    async def run_availability_hub(app: FastAPI, resources: AppResources) -> AsyncIterator[None]:
        async with PubSubHub(resources.redis, name="availability").running() as hub:
            app.state.availability_hub = hub
            yield

    app = create_app(
        settings,
        title="Inventory",
        routers=[
            listings_router,
            pricing_router,
            schedules_router,
            internal_slots_router,
            calendar_router,
            holds_router,
            internal_holds_router,
            blackouts_router,
            feed_router,
        ],
        consumers=[booking_events_consumer_source(clock)],
        background_jobs=[
            BackgroundJob("hold expiry", expire_holds),
            BackgroundJob("slot top-up", top_up),
            BackgroundJob("reconciliation", reconcile),
            BackgroundJob("listing view flush", flush_views),
        ],
        lifespan_hook=run_availability_hub,
    )
    app.state.clock = clock
    return app
