from fastapi import FastAPI

from services.analytics.exports.router import router as exports_router
from services.analytics.forecasts.router import router as forecasts_router
from services.analytics.funnel.router import router as funnel_router
from services.analytics.funnel.service import FUNNEL_EVENTS
from services.analytics.occupancy.router import router as occupancy_router
from services.analytics.occupancy.service import OCCUPANCY_EVENTS
from services.analytics.outcomes.router import router as outcomes_router
from services.analytics.outcomes.service import OUTCOME_EVENTS
from services.analytics.popular.router import router as popular_router
from services.analytics.revenue.router import router as revenue_router
from services.analytics.revenue.service import REVENUE_EVENTS
from services.analytics.settings import AnalyticsSettings, get_settings
from shared.app import create_app
from shared.clock import Clock, SystemClock


def build_app(settings: AnalyticsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    app = create_app(
        settings or get_settings(),
        title="Analytics",
        routers=[
            revenue_router,
            popular_router,
            funnel_router,
            occupancy_router,
            outcomes_router,
            forecasts_router,
            exports_router,
        ],
        consumers=[REVENUE_EVENTS, FUNNEL_EVENTS, OUTCOME_EVENTS, OCCUPANCY_EVENTS],
    )
    app.state.clock = clock or SystemClock()
    return app
