from fastapi import FastAPI

from services.analytics.settings import AnalyticsSettings, get_settings
from shared.app import create_app


def build_app(settings: AnalyticsSettings | None = None) -> FastAPI:
    return create_app(settings or get_settings(), title="Analytics")
