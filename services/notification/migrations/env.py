from services.notification.db import Base
from services.notification.settings import get_settings
from shared.db import PlumbingBase
from shared.migrations import run_migrations

run_migrations(get_settings(), target_metadata=[Base.metadata, PlumbingBase.metadata])
