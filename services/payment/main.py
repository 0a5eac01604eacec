import asyncio

from fastapi import FastAPI

from services.payment.intents.consumers import BOOKING_EVENTS
from services.payment.intents.router import router as intents_router
from services.payment.intents.service import run_pending_stripe_commands
from services.payment.methods.router import router as methods_router
from services.payment.settings import PaymentSettings, get_settings
from services.payment.stripe_gateway import create_stripe_client
from services.payment.webhooks.router import router as webhooks_router
from shared.app import AppResources, BackgroundJob, create_app
from shared.clock import Clock, SystemClock


def build_app(settings: PaymentSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()
    stripe_client = create_stripe_client(settings)

    async def make_stripe_calls(resources: AppResources) -> None:
        while True:
            done = await run_pending_stripe_commands(
                resources.session_factory,
                stripe_client=stripe_client,
                fee_percent=settings.platform_fee_percent,
                now=clock.now(),
            )
            if not done:
                await asyncio.sleep(settings.stripe_command_interval_seconds)

    app = create_app(
        settings,
        title="Payment",
        routers=[intents_router, methods_router, webhooks_router],
        consumers=[BOOKING_EVENTS],
        background_jobs=[BackgroundJob("stripe commands", make_stripe_calls)],
    )
    app.state.stripe = stripe_client
    app.state.clock = clock
    return app
