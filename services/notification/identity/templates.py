"""The emails about an account: verify the address, someone tried to register with it, reset
the password, the password was changed. Each link leads to the web app, which posts the token
to the API; the token is also written out for clients without the web app."""

from datetime import datetime
from email.message import EmailMessage
from urllib.parse import urlencode

from shared.contracts.identity import (
    EmailVerificationRequested,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationAttempted,
)


def _message(*, sender: str, recipient: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    return message


def _greeting(name: str) -> str:
    # A name is one line in a greeting, however it was typed.
    return f"Hello {' '.join(name.split())},\n\n"


def _link(web_app_url: str, page: str, token: str) -> str:
    return f"{web_app_url.rstrip('/')}/{page}?{urlencode({'token': token})}"


def _utc(at: datetime) -> str:
    return f"{at:%d %B %Y, %H:%M} UTC"


def email_verification(event: EmailVerificationRequested, *, sender: str, web_app_url: str) -> EmailMessage:
    return _message(
        sender=sender,
        recipient=event.email,
        subject="Verify your email address",
        body=(
            f"{_greeting(event.name)}"
            "Please confirm that this address is yours:\n\n"
            f"  {_link(web_app_url, 'verify-email', event.token)}\n\n"
            f"Verification token: {event.token}\n"
            f"It works once, until {_utc(event.expires_at)}.\n\n"
            "If you did not create an account with us, ignore this email: nothing is confirmed "
            "without it.\n"
        ),
    )


def registration_attempted(event: RegistrationAttempted, *, sender: str, web_app_url: str) -> EmailMessage:
    return _message(
        sender=sender,
        recipient=event.email,
        subject="Someone tried to register with your email address",
        body=(
            f"{_greeting(event.name)}"
            f"On {_utc(event.attempted_at)} someone tried to create an account with this address, "
            "which already has one. If it was you, sign in; if you have forgotten your password, "
            f"reset it:\n\n  {web_app_url.rstrip('/')}/reset-password\n\n"
            "If it was not you, you need not do anything: your account is unchanged.\n"
        ),
    )


def password_reset(event: PasswordResetRequested, *, sender: str, web_app_url: str) -> EmailMessage:
    return _message(
        sender=sender,
        recipient=event.email,
        subject="Reset your password",
        body=(
            f"{_greeting(event.name)}"
            "Someone, hopefully you, asked to reset the password of your account. Choose a new one here:\n\n"
            f"  {_link(web_app_url, 'reset-password', event.token)}\n\n"
            f"Reset token: {event.token}\n"
            f"It works once, until {_utc(event.expires_at)}, and a newer request replaces it.\n\n"
            "If you did not ask, ignore this email: your password stays as it is.\n"
        ),
    )


def password_changed(event: PasswordChanged, *, sender: str, web_app_url: str) -> EmailMessage:
    how = "with a reset link" if event.how == "reset" else "from your account"
    return _message(
        sender=sender,
        recipient=event.email,
        subject="Your password was changed",
        body=(
            f"{_greeting(event.name)}"
            f"The password of your account was changed {how} on {_utc(event.changed_at)}, and "
            "every other session was signed out.\n\n"
            "If this was not you, reset your password now and tell us:\n\n"
            f"  {web_app_url.rstrip('/')}/reset-password\n"
        ),
    )
