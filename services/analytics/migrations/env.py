import services.analytics.main  # noqa: F401  (imports every model of the app)
from services.analytics.db import Base
from services.analytics.settings import get_settings
from shared.migrations import run_migrations

run_migrations(get_settings(), app_metadata=Base.metadata)
