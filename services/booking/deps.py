"""FastAPI dependencies of booking's routers."""

from typing import Annotated

from fastapi import Depends, Request

from services.booking.settings import BookingSettings


def get_settings_of_app(request: Request) -> BookingSettings:
    settings: BookingSettings = request.app.state.resources.settings
    return settings


SettingsDep = Annotated[BookingSettings, Depends(get_settings_of_app)]
