"""The email that tells an admin messages were dead-lettered: the topic, the first reason read
this hour, and how to replay them; rendered from `layouts/dead_letters.*`."""

from datetime import datetime
from email.message import EmailMessage

from services.notification.dead_letters.domain import ALERT_WINDOW, DeadLetter
from services.notification.email.rendering import render_email


def dead_letters_alert(
    dead_letter: DeadLetter, *, window: datetime, read_at: datetime, sender: str, recipient: str, locale: str
) -> EmailMessage:
    context = {
        "dead_letter": dead_letter,
        "read_at": read_at,
        "next_alert_at": window + ALERT_WINDOW,
    }
    return render_email("dead_letters", context, sender=sender, recipient=recipient, locale=locale)
