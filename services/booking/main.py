from fastapi import FastAPI

from services.booking.settings import BookingSettings, get_settings
from shared.app import create_app


def build_app(settings: BookingSettings | None = None) -> FastAPI:
    return create_app(settings or get_settings(), title="Booking")
