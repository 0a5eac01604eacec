"""The platform as `make up` runs it: an email's unsubscribe link works through the gateway
without signing in. Its GET shows the page (allowed to post its form), its POST switches that
kind's email off for the user the token names, and a forged token changes nothing."""

from collections.abc import Iterator
from uuid import UUID

import httpx
import pytest

from services.notification.notifications.domain import NotificationKind
from services.notification.preferences.domain import UnsubscribeLinks, Unsubscription
from services.notification.settings import NotificationSettings
from tests.flows import sign_up
from tests.running_platform import PlatformPorts


@pytest.fixture
def gateway(platform: PlatformPorts) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as client:
        yield client


def _reminder_email_enabled(gateway: httpx.Client, session: dict[str, str]) -> bool:
    preferences = gateway.get("/api/v1/notifications/preferences", headers=session)
    assert preferences.status_code == 200, preferences.text
    [entry] = [entry for entry in preferences.json()["kinds"] if entry["kind"] == "booking_reminder"]
    enabled: bool = entry["channels"]["email"]["enabled"]
    return enabled


def test_an_unsubscribe_link_works_through_the_gateway_without_signing_in(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    traveler = sign_up(gateway, "traveler")
    user_id = UUID(gateway.get("/api/v1/auth/me", headers=traveler).json()["id"])
    # The dev stack signs with the development secret and links through its gateway.
    links = UnsubscribeLinks(
        secret=NotificationSettings().unsubscribe_secret.encode(), base_url=f"{platform.gateway_url}/api/v1"
    )
    link = links.link(Unsubscription(user_id, NotificationKind.BOOKING_REMINDER, "email"))
    forged = UnsubscribeLinks(secret=b"not the secret", base_url=f"{platform.gateway_url}/api/v1").link(
        Unsubscription(user_id, NotificationKind.BOOKING_REMINDER, "email")
    )

    page = httpx.get(link, timeout=30)
    assert page.status_code == 200, page.text
    assert '<form method="post"' in page.text
    assert "form-action 'self'" in page.headers["content-security-policy"]
    refused = httpx.post(forged, timeout=30)
    assert (refused.status_code, refused.json()["error_code"]) == (400, "INVALID_SIGNATURE")
    assert _reminder_email_enabled(gateway, traveler) is True

    done = httpx.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=30)

    assert done.status_code == 200, done.text
    assert _reminder_email_enabled(gateway, traveler) is False
