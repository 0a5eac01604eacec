from datetime import time
from uuid import UUID

from sqlalchemy import String, Time
from sqlalchemy.orm import Mapped, mapped_column

from services.notification.db import Base


class ChannelPreference(Base):
    """One channel of one kind as a user set it; a kind and channel without a row is at its default."""

    __tablename__ = "channel_preference"

    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    enabled: Mapped[bool]


class QuietHoursSetting(Base):
    """A user's daily window without SMS, in wall-clock times of their own zone."""

    __tablename__ = "quiet_hours"

    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    starts_at: Mapped[time] = mapped_column(Time())
    ends_at: Mapped[time] = mapped_column(Time())
    timezone: Mapped[str] = mapped_column(String(64))
