"""The gateway's identity events become emails to the account's owner, queued in the
transaction of the event's inbox row and sent by the email delivery job."""

from collections.abc import Callable
from email.message import EmailMessage
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.email.models import EmailDelivery
from services.notification.identity.templates import (
    email_verification,
    password_changed,
    password_reset,
    registration_attempted,
)
from services.notification.settings import NotificationSettings
from shared.contracts.identity import (
    EmailVerificationRequested,
    IdentityEvent,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationAttempted,
)
from shared.events.consumer import ConsumerSpec, EventHandler, HandlerKey, handles
from shared.events.envelope import topic_for

EventT = TypeVar("EventT", bound=IdentityEvent)


def identity_events_consumer(settings: NotificationSettings) -> ConsumerSpec:
    def emailing(event_type: type[EventT], template: Callable[..., EmailMessage]) -> tuple[HandlerKey, EventHandler]:
        async def queue(session: AsyncSession, event: EventT) -> None:
            message = template(event, sender=settings.mail_from, web_app_url=settings.web_app_url)
            session.add(
                EmailDelivery(
                    kind=event.event_type,
                    recipient=event.email,
                    subject=str(message["Subject"]),
                    message=message.as_bytes(),
                )
            )

        return handles(event_type, queue)

    return ConsumerSpec(
        name="notification.identity-events",
        topics=(topic_for("gateway"),),
        handlers=dict(
            [
                emailing(EmailVerificationRequested, email_verification),
                emailing(RegistrationAttempted, registration_attempted),
                emailing(PasswordResetRequested, password_reset),
                emailing(PasswordChanged, password_changed),
            ]
        ),
    )
