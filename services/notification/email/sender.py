"""Email's way out: SMTP, plain or secured with STARTTLS or implicit TLS, with AUTH when a
username is set."""

import ssl
from email.utils import parseaddr

import aiosmtplib

from services.notification.notifications.domain import DeliveryFailed, OutgoingMessage
from services.notification.settings import NotificationSettings


class SmtpSender:
    """Hands a delivery's message, Message-ID and all, to the SMTP server of the settings."""

    def __init__(self, settings: NotificationSettings) -> None:
        self._settings = settings
        self._envelope_sender = parseaddr(settings.mail_from)[1]
        self._tls_context = (
            ssl.create_default_context(cafile=settings.smtp_tls_ca_file) if settings.smtp_tls != "none" else None
        )

    async def send(self, message: OutgoingMessage) -> str:
        settings = self._settings
        with_auth = settings.smtp_username is not None
        try:
            await aiosmtplib.send(
                message.content,
                sender=self._envelope_sender,
                recipients=[message.address],
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                timeout=settings.smtp_timeout_seconds,
                use_tls=settings.smtp_tls == "tls",
                # Required, not opportunistic: a server that does not offer it fails the delivery
                # rather than getting the message (and the password) in the clear.
                start_tls=settings.smtp_tls == "starttls",
                tls_context=self._tls_context,
                username=settings.smtp_username,
                password=settings.smtp_password.get_secret_value() if with_auth else None,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(f"SMTP: {error}") from error
        return message.idempotency_key
