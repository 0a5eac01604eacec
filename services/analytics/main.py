from fastapi import FastAPI

from services.analytics.revenue.router import router as revenue_router
from services.analytics.revenue.service import REVENUE_EVENTS
from services.analytics.settings import AnalyticsSettings, get_settings
from shared.app import create_app


def build_app(settings: AnalyticsSettings | None = None) -> FastAPI:
    return create_app(
        settings or get_settings(), title="Analytics", routers=[revenue_router], consumers=[REVENUE_EVENTS]
    )
