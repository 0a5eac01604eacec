from fastapi import FastAPI

from services.analytics.exports.router import router as exports_router
from services.analytics.forecasts.router import router as forecasts_router
from services.analytics.revenue.router import router as revenue_router
from services.analytics.revenue.service import REVENUE_EVENTS
from services.analytics.settings import AnalyticsSettings, get_settings
from shared.app import create_app
from shared.clock import Clock, SystemClock


def build_app(settings: AnalyticsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    app = create_app(
        settings or get_settings(),
        title="Analytics",
        routers=[revenue_router, forecasts_router, exports_router],
        consumers=[REVENUE_EVENTS],
    )
    app.state.clock = clock or SystemClock()
    return app
