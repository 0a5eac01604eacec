from sqlalchemy.orm import DeclarativeBase

from shared.db import new_metadata


class Base(DeclarativeBase):
    """Every table of the gateway schema."""

    metadata = new_metadata()
