"""An account's emails through the whole platform: the gateway writes an identity event,
notification sends the email, and the token in it works once. A new traveler registers and
signs in at once, verifies the address with the emailed link, is told when someone registers
with it again, and resets the password with the emailed token, which works only once."""

import email
import email.policy
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.flows import PASSWORD, sign_in
from tests.running_platform import PlatformPorts

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def gateway(platform: PlatformPorts) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as client:
        yield client


def _mail_to(mail_http_port: int, recipient: str, subject: str, within: float = 30) -> str:
    """The text of the email to `recipient` with this subject, once the mail sink has it."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for message in httpx.get(f"http://127.0.0.1:{mail_http_port}/messages").json()["items"]:
            if recipient in message["rcpt_tos"] and message["subject"] == subject:
                body = email.message_from_string(message["raw"], policy=email.policy.default).get_body(("plain",))
                assert body is not None
                return str(body.get_content())
        time.sleep(0.2)
    raise AssertionError(f"no email {subject!r} to {recipient}")


def _token(text: str, label: str) -> str:
    found = re.search(rf"{label}: (\S+)", text)
    assert found is not None, text
    return found.group(1)


def test_register_verify_and_reset_with_the_emailed_tokens_each_once(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    address = f"traveler-{uuid.uuid4().hex[:10]}@example.com"
    registered = gateway.post("/api/v1/auth/register", json={"email": address, "password": PASSWORD, "name": "Ana"})
    assert (registered.status_code, registered.json()) == (202, {"status": "verification_sent"})
    first_session = sign_in(gateway, address, PASSWORD)
    assert gateway.get("/api/v1/auth/me", headers=first_session).json()["email_verified"] is False

    verification = _mail_to(platform.mail_http, address, "Verify your email address")
    token = _token(verification, "Verification token")
    assert f"/verify-email?token={token}" in verification
    verified = gateway.post("/api/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert gateway.get("/api/v1/auth/me", headers=first_session).json()["email_verified"] is True
    again = gateway.post("/api/v1/auth/verify-email", json={"token": token})
    assert (again.status_code, again.json()["error_code"]) == (400, "INVALID_TOKEN")

    # Someone registers the address again: the same answer, and its owner hears of it.
    retried = gateway.post("/api/v1/auth/register", json={"email": address, "password": "x" * 12, "name": "Eve"})
    assert (retried.status_code, retried.json()) == (202, {"status": "verification_sent"})
    _mail_to(platform.mail_http, address, "Someone tried to register with your email address")

    asked = gateway.post("/api/v1/auth/password-reset", json={"email": address})
    assert (asked.status_code, asked.json()) == (202, {"status": "reset_sent"})
    reset_token = _token(_mail_to(platform.mail_http, address, "Reset your password"), "Reset token")
    reset = gateway.post(
        "/api/v1/auth/password-reset/confirm", json={"token": reset_token, "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 200, reset.text
    replayed = gateway.post(
        "/api/v1/auth/password-reset/confirm", json={"token": reset_token, "new_password": "the thief's passphrase"}
    )
    assert (replayed.status_code, replayed.json()["error_code"]) == (400, "INVALID_TOKEN")

    assert gateway.get("/api/v1/auth/me", headers=first_session).status_code == 401, "the reset ended it"
    assert gateway.post("/api/v1/auth/token", json={"email": address, "password": PASSWORD}).status_code == 401
    assert gateway.get("/api/v1/auth/me", headers=sign_in(gateway, address, NEW_PASSWORD)).status_code == 200
    _mail_to(platform.mail_http, address, "Your password was changed")
