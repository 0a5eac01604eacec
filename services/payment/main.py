from fastapi import FastAPI

from services.payment.settings import PaymentSettings, get_settings
from shared.app import create_app


def build_app(settings: PaymentSettings | None = None) -> FastAPI:
    return create_app(settings or get_settings(), title="Payment")
