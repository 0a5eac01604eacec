from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from services.booking.affiliate.router import router as affiliate_router
from services.booking.balances.consumers import balances_consumer
from services.booking.balances.router import router as balances_router
from services.booking.bookings.consumers import saga_consumer
from services.booking.bookings.router import router as bookings_router
from services.booking.calendars.router import router as calendars_router
from services.booking.cancellations.consumers import blackouts_consumer
from services.booking.cancellations.router import router as cancellations_router
from services.booking.carts.router import router as carts_router
from services.booking.experts.router import router as experts_router
from services.booking.history.router import router as history_router
from services.booking.jobs import (
    charge_due_balances_forever,
    complete_bookings_forever,
    deliver_webhooks_forever,
    handle_request_deadlines_forever,
)
from services.booking.modifications.consumers import modifications_consumer
from services.booking.modifications.router import router as modifications_router
from services.booking.requests.router import router as requests_router
from services.booking.settings import BookingSettings, get_settings
from services.booking.trips.consumers import trips_consumer
from services.booking.trips.router import router as trips_router
from services.booking.trips.sharing.router import router as trip_sharing_router
from services.booking.upstreams.binding import UpstreamPools
from services.booking.waitlist.consumers import waitlist_consumer
from services.booking.waitlist.router import admin_router as waitlist_admin_router
from services.booking.waitlist.router import router as waitlist_router
from services.booking.webhooks.consumers import webhooks_consumer
from services.booking.webhooks.delivery import Sending, WebhookMetrics
from services.booking.webhooks.router import router as webhooks_router
from shared.app import AppResources, BackgroundJob, create_app
from shared.clock import Clock, SystemClock
from shared.http_client import service_client


def build_app(settings: BookingSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()

    @asynccontextmanager
    async def open_clients(app: FastAPI, _: AppResources) -> AsyncIterator[None]:
        app.state.inventory = service_client(
            base_url=settings.inventory_url, timeout_seconds=settings.upstream_timeout_seconds
        )
        app.state.payment = service_client(
            base_url=settings.payment_url, timeout_seconds=settings.upstream_timeout_seconds
        )
        # Webhooks go to the outside world: no redirects, no proxies from the environment.
        app.state.webhook_http = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        try:
            yield
        finally:
            await app.state.inventory.aclose()
            await app.state.payment.aclose()
            await app.state.webhook_http.aclose()

    async def complete_bookings(resources: AppResources) -> None:
        await complete_bookings_forever(resources, clock=clock, interval_seconds=settings.completion_interval_seconds)

    async def handle_request_deadlines(resources: AppResources) -> None:
        await handle_request_deadlines_forever(
            resources,
            clock=clock,
            deadlines=settings.request_deadlines(),
            interval_seconds=settings.request_deadlines_interval_seconds,
        )

    async def charge_due_balances(resources: AppResources) -> None:
        await charge_due_balances_forever(
            resources,
            clock=clock,
            upstreams=UpstreamPools(
                inventory=app.state.inventory, payment=app.state.payment, signer=app.state.service_signer
            ),
            schedule=settings.balance_schedule(),
            interval_seconds=settings.balance_interval_seconds,
        )

    async def deliver_webhooks(resources: AppResources) -> None:
        await deliver_webhooks_forever(
            resources,
            sending=Sending(
                http=app.state.webhook_http,
                clock=clock,
                retries=settings.webhook_retries(),
                disabling=settings.webhook_disabling(),
                allow_private=settings.allows_private_webhook_targets(),
                timeout_seconds=settings.webhook_timeout_seconds,
                metrics=app.state.webhook_metrics,
                secrets_box=settings.webhook_secret_box(),
            ),
            interval_seconds=settings.webhook_delivery_interval_seconds,
        )

    app = create_app(
        settings,
        title="Booking",
        routers=[
            bookings_router,
            modifications_router,
            cancellations_router,
            balances_router,
            carts_router,
            history_router,
            affiliate_router,
            waitlist_router,
            waitlist_admin_router,
            requests_router,
            experts_router,
            trips_router,
            trip_sharing_router,
            calendars_router,
            webhooks_router,
        ],
        consumers=[
            saga_consumer(clock),
            modifications_consumer(clock, settings.deposit_terms()),
            balances_consumer(clock, settings.balance_schedule()),
            waitlist_consumer(claim_seconds=settings.waitlist_claim_seconds, clock=clock),
            blackouts_consumer(settings, clock),
            trips_consumer(clock),
            webhooks_consumer(clock),
        ],
        background_jobs=[
            BackgroundJob("booking completion", complete_bookings),
            BackgroundJob("booking request deadlines", handle_request_deadlines),
            BackgroundJob("balance charges", charge_due_balances),
            BackgroundJob("webhook deliveries", deliver_webhooks),
        ],
        lifespan_hook=open_clients,
    )
    app.state.clock = clock
    app.state.webhook_metrics = WebhookMetrics.register(app.state.metrics.registry)
    app.state.idempotency_wait_seconds = settings.idempotency_wait_seconds
    return app
