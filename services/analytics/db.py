from sqlalchemy.orm import DeclarativeBase

from shared.db import new_metadata


class Base(DeclarativeBase):
    """Every table of the analytics schema."""

    metadata = new_metadata()
