import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from services.payment.connect.router import router as connect_router
from services.payment.credits.consumers import CREDIT_EVENTS
from services.payment.credits.router import router as credits_router
from services.payment.earnings.router import router as earnings_router
from services.payment.fees.router import admin_router as fees_admin_router
from services.payment.fees.router import router as fees_router
from services.payment.intents.consumers import BOOKING_EVENTS
from services.payment.intents.router import router as intents_router
from services.payment.intents.service import run_pending_stripe_commands
from services.payment.methods.router import router as methods_router
from services.payment.payouts.consumers import BOOKING_EVENTS_FOR_PAYOUTS
from services.payment.payouts.router import router as payouts_router
from services.payment.payouts.service import RetryPolicy, pay_due_payouts
from services.payment.reconciliation.router import router as reconciliation_router
from services.payment.settings import PaymentSettings, get_settings
from services.payment.stripe_gateway import create_stripe_client
from services.payment.webhooks.router import router as webhooks_router
from shared.app import AppResources, BackgroundJob, create_app, job_pass
from shared.clock import Clock, SystemClock
from shared.http_client import service_client


def build_app(settings: PaymentSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()
    stripe_client = create_stripe_client(settings)

    @asynccontextmanager
    async def open_clients(app: FastAPI, _: AppResources) -> AsyncIterator[None]:
        app.state.inventory = service_client(
            base_url=settings.inventory_url, timeout_seconds=settings.upstream_timeout_seconds
        )
        try:
            yield
        finally:
            await app.state.inventory.aclose()

    async def make_stripe_calls(resources: AppResources) -> None:
        while True:
            async with job_pass():
                done = await run_pending_stripe_commands(
                    resources.session_factory,
                    stripe_client=stripe_client,
                    now=clock.now(),
                    first_retry=timedelta(seconds=settings.stripe_retry_first_seconds),
                    longest_retry=timedelta(seconds=settings.stripe_retry_longest_seconds),
                )
            if not done:
                await asyncio.sleep(settings.stripe_command_interval_seconds)

    async def pay_out(resources: AppResources) -> None:
        retry = RetryPolicy(
            first=timedelta(seconds=settings.stripe_retry_first_seconds),
            longest=timedelta(seconds=settings.stripe_retry_longest_seconds),
        )
        while True:
            async with job_pass():
                done = await pay_due_payouts(
                    resources.session_factory, stripe_client=stripe_client, now=clock.now(), retry=retry
                )
            if not done:
                await asyncio.sleep(settings.payout_interval_seconds)

    app = create_app(
        settings,
        title="Payment",
        routers=[
            intents_router,
            methods_router,
            webhooks_router,
            fees_router,
            fees_admin_router,
            earnings_router,
            reconciliation_router,
            connect_router,
            payouts_router,
            credits_router,
        ],
        consumers=[BOOKING_EVENTS, BOOKING_EVENTS_FOR_PAYOUTS, CREDIT_EVENTS],
        background_jobs=[BackgroundJob("stripe commands", make_stripe_calls), BackgroundJob("payouts", pay_out)],
        lifespan_hook=open_clients,
    )
    app.state.stripe = stripe_client
    app.state.clock = clock
    return app
