import gateway.main  # noqa: F401  (imports every model of the app)
from gateway.db import Base
from gateway.settings import get_settings
from shared.migrations import run_migrations

run_migrations(get_settings(), app_metadata=Base.metadata)
