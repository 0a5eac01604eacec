"""The account emails carry their token and link, and any name a person typed (line breaks,
right-to-left text, emoji, great length) stays in the body without breaking the message."""

import email
import email.policy
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notification.identity.templates import (
    email_verification,
    password_changed,
    password_reset,
    registration_attempted,
)
from shared.contracts.identity import (
    EmailVerificationRequested,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationAttempted,
)

SENDER = "Travel Platform <accounts@travel.example>"
WEB_APP = "https://app.travel.example/"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
NAMES = ["Ana", "Ana\r\nBcc: eve@example.com", "مرحبا بالعالم", "Ana 🧳✈️", "A" * 200]


def _read(raw: bytes) -> tuple[email.message.EmailMessage, str]:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    body = parsed.get_body(("plain",))
    assert body is not None
    return parsed, str(body.get_content())


@pytest.mark.parametrize("name", NAMES)
def test_every_account_email_is_well_formed_whatever_the_name(name: str) -> None:
    facts = {"user_id": uuid.uuid4(), "email": "ana@example.com", "name": name}
    messages = [
        email_verification(
            EmailVerificationRequested(**facts, token="tok", expires_at=NOW), sender=SENDER, web_app_url=WEB_APP
        ),
        registration_attempted(RegistrationAttempted(**facts, attempted_at=NOW), sender=SENDER, web_app_url=WEB_APP),
        password_reset(
            PasswordResetRequested(**facts, token="tok", expires_at=NOW), sender=SENDER, web_app_url=WEB_APP
        ),
        password_changed(PasswordChanged(**facts, how="reset", changed_at=NOW), sender=SENDER, web_app_url=WEB_APP),
    ]
    for message in messages:
        parsed, body = _read(message.as_bytes())
        assert parsed["To"] == "ana@example.com"
        assert parsed["Bcc"] is None
        assert f"Hello {' '.join(name.split())},\n" in body


def test_the_verification_and_reset_emails_carry_the_token_and_a_link_with_it() -> None:
    token = "Zm9v-YmFy_+/="
    facts = {"user_id": uuid.uuid4(), "email": "ana@example.com", "name": "Ana"}
    expires_at = NOW + timedelta(hours=48)
    _, verification = _read(
        email_verification(
            EmailVerificationRequested(**facts, token=token, expires_at=expires_at), sender=SENDER, web_app_url=WEB_APP
        ).as_bytes()
    )
    assert f"Verification token: {token}\n" in verification
    assert "https://app.travel.example/verify-email?token=Zm9v-YmFy_%2B%2F%3D" in verification
    assert "Saturday, December 5, 2026, 9:00\u202fAM (Coordinated Universal Time)" in verification
    _, reset = _read(
        password_reset(
            PasswordResetRequested(**facts, token=token, expires_at=expires_at), sender=SENDER, web_app_url=WEB_APP
        ).as_bytes()
    )
    assert f"Reset token: {token}\n" in reset
    assert "https://app.travel.example/reset-password?token=Zm9v-YmFy_%2B%2F%3D" in reset


def test_identity_events_ignore_fields_they_do_not_know() -> None:
    event = PasswordChanged.model_validate(
        {
            "user_id": str(uuid.uuid4()),
            "email": "ana@example.com",
            "name": "Ana",
            "how": "change",
            "changed_at": NOW.isoformat(),
            "device": "a field from a later gateway",
        }
    )
    assert event.how == "change"
