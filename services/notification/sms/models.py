from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.notification.db import Base


class SmsStatus(Base):
    """The latest delivery status Twilio reported of a message, by its SID (`SM...`): what a
    delivery of the SMS channel reads to learn that its message arrived, or why not."""

    __tablename__ = "sms_status"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    # queued, sending, sent, delivered, undelivered, failed, ... (Twilio's words)
    status: Mapped[str] = mapped_column(String(20))
    # Twilio's error code of an undelivered or failed message (30003: unreachable, ...).
    error_code: Mapped[int | None]
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
