"""Email's way out: SMTP."""

from email.utils import parseaddr

import aiosmtplib

from services.notification.notifications.domain import DeliveryFailed, OutgoingMessage
from services.notification.settings import NotificationSettings


class SmtpSender:
    """Hands a delivery's message, Message-ID and all, to the SMTP server of the settings."""

    def __init__(self, settings: NotificationSettings) -> None:
        self._settings = settings
        self._envelope_sender = parseaddr(settings.mail_from)[1]

    async def send(self, message: OutgoingMessage) -> str:
        try:
            await aiosmtplib.send(
                message.content,
                sender=self._envelope_sender,
                recipients=[message.address],
                hostname=self._settings.smtp_host,
                port=self._settings.smtp_port,
                timeout=self._settings.smtp_timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(f"SMTP: {error}") from error
        return message.idempotency_key
