"""Answers to a booking request go to the account that made it, never to the contact address
typed into the request (anyone's inbox); the provider's email still names that contact."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notification.email.templates import request_declined, request_expired, request_to_provider
from shared.contracts.booking import BookingRequestCreated, BookingRequestDeclined, BookingRequestExpired

AT = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)


def _facts(**fields: Any) -> dict[str, Any]:
    return {
        "request_id": uuid.uuid4(),
        "traveler_id": uuid.uuid4(),
        "traveler_email": "account@example.com",
        "provider_id": uuid.uuid4(),
        "provider_email": "provider@example.com",
        "listing_id": uuid.uuid4(),
        "listing_title": "Private cooking class",
        "slot_id": uuid.uuid4(),
        "starts_at": AT + timedelta(days=3),
        "timezone": "Europe/Lisbon",
        "seats": 2,
        "contact_name": "Marta",
        "contact_email": "typed@example.com",
        "requested_at": AT,
    } | fields


def test_the_traveler_hears_of_answers_at_their_account_email() -> None:
    declined = BookingRequestDeclined(**_facts(), reason=None, alternatives=[], currency="EUR", responded_at=AT)
    assert request_declined(declined, sender="bookings@travel.example")["To"] == "account@example.com"
    expired = BookingRequestExpired(**_facts(), expired_at=AT)
    assert request_expired(expired, sender="bookings@travel.example")["To"] == "account@example.com"


def test_an_event_from_before_the_account_email_was_carried_still_reaches_the_contact() -> None:
    expired = BookingRequestExpired(**_facts(traveler_email=None), expired_at=AT)
    assert request_expired(expired, sender="bookings@travel.example")["To"] == "typed@example.com"


def test_the_provider_still_sees_the_contact_the_traveler_gave() -> None:
    created = BookingRequestCreated(
        **_facts(),
        adults=2,
        children=0,
        infants=0,
        message=None,
        estimated_total=None,
        currency="EUR",
        expires_at=AT + timedelta(hours=48),
    )
    message = request_to_provider(created, recipient="provider@example.com", sender="bookings@travel.example")
    assert message["To"] == "provider@example.com"
    body = message.get_body(("plain",))
    assert body is not None
    assert "Marta" in str(body.get_content())
