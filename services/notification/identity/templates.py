"""The emails about an account: verify the address, someone tried to register with it, reset
the password, the password was changed. Each link leads to the web app, which posts the token
to the API; the token is also written out for clients without the web app. Rendered by
`email.rendering.render_email` from their files in `email/layouts/`; times are in UTC."""

from email.message import EmailMessage
from urllib.parse import urlencode

from services.notification.email.rendering import plain_text, render_email
from shared.contracts.identity import (
    EmailVerificationRequested,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationAttempted,
)


def _link(web_app_url: str, page: str, token: str | None = None) -> str:
    link = f"{web_app_url.rstrip('/')}/{page}"
    return f"{link}?{urlencode({'token': plain_text(token)})}" if token is not None else link


def email_verification(
    event: EmailVerificationRequested, *, sender: str, web_app_url: str, locale: str = "en"
) -> EmailMessage:
    return render_email(
        "email_verification",
        {
            "name": event.name,
            "token": event.token,
            "expires_at": event.expires_at,
            "link": _link(web_app_url, "verify-email", event.token),
        },
        sender=sender,
        recipient=event.email,
        locale=locale,
    )


def registration_attempted(
    event: RegistrationAttempted, *, sender: str, web_app_url: str, locale: str = "en"
) -> EmailMessage:
    return render_email(
        "registration_attempted",
        {"name": event.name, "attempted_at": event.attempted_at, "link": _link(web_app_url, "reset-password")},
        sender=sender,
        recipient=event.email,
        locale=locale,
    )


def password_reset(event: PasswordResetRequested, *, sender: str, web_app_url: str, locale: str = "en") -> EmailMessage:
    return render_email(
        "password_reset",
        {
            "name": event.name,
            "token": event.token,
            "expires_at": event.expires_at,
            "link": _link(web_app_url, "reset-password", event.token),
        },
        sender=sender,
        recipient=event.email,
        locale=locale,
    )


def password_changed(event: PasswordChanged, *, sender: str, web_app_url: str, locale: str = "en") -> EmailMessage:
    return render_email(
        "password_changed",
        {
            "name": event.name,
            "how": event.how,
            "changed_at": event.changed_at,
            "link": _link(web_app_url, "reset-password"),
        },
        sender=sender,
        recipient=event.email,
        locale=locale,
    )
