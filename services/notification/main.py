from fastapi import FastAPI

from services.notification.settings import NotificationSettings, get_settings
from shared.app import create_app


def build_app(settings: NotificationSettings | None = None) -> FastAPI:
    return create_app(settings or get_settings(), title="Notification")
