import services.booking.main  # noqa: F401  (imports every model of the app)
from services.booking.db import Base
from services.booking.settings import get_settings
from shared.migrations import run_migrations

run_migrations(get_settings(), app_metadata=Base.metadata)
