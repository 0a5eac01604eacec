from fastapi import FastAPI

from services.inventory.settings import InventorySettings, get_settings
from shared.app import create_app


def build_app(settings: InventorySettings | None = None) -> FastAPI:
    return create_app(settings or get_settings(), title="Inventory")
