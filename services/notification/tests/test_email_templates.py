"""Every email the platform sends stays a valid message whatever users typed into it: line
breaks, control characters, right-to-left text, emoji, lone surrogates or very long text in a
title, a name, a reason or a message never add a header, never break one, and never fail.
Markup a user typed is text: escaped in the HTML body, as typed in the text body."""

import email
import email.policy
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any, TypeVar
from uuid import UUID, uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from services.notification.email.rendering import SUBJECT_LIMIT
from services.notification.email.templates import (
    balance_charge_failed,
    booked_on_behalf,
    booking_cancellation,
    booking_change,
    booking_confirmation,
    booking_reminder,
    request_answered,
    request_countered,
    request_declined,
    request_expired,
    request_to_provider,
)
from services.notification.identity.templates import (
    email_verification,
    password_changed,
    password_reset,
    registration_attempted,
)
from shared.contracts.booking import (
    BookedOnBehalf,
    BookingBalanceChargeFailed,
    BookingCancelled,
    BookingConfirmed,
    BookingModified,
    BookingRequestAccepted,
    BookingRequestCounterAccepted,
    BookingRequestCountered,
    BookingRequestCreated,
    BookingRequestDeclined,
    BookingRequestExpired,
    BookingRequestProviderReminded,
    BookingRequestProviderWarned,
)
from shared.contracts.identity import (
    EmailVerificationRequested,
    IdentityEvent,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationAttempted,
)

ModelT = TypeVar("ModelT", bound=BaseModel)

SENDER = "bookings@travel.example"
PROVIDER = "provider@example.com"
WEB_APP = "https://app.travel.example"

HOSTILE = (
    "Sunset kayak\ntour",
    "Kayak\r\nBcc: everyone@example.com",
    "Tour\r\n\r\n<html>injected body</html>",
    "جولة بالقارب عند الغروب (sunset kayak)",
    "\u202eevil\u202c title",
    "Family trip \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 \U0001f6a3\U0001f3fd",
    "Line\u2028separator\u2029and\x85next\x0bline\x0cfeed",
    "broken \ud800 surrogate",
    "=?utf-8?q?encoded=3F?= word",
    "x" * 5000,
    "\u00e9" * 300 + "\U0001f30a" * 300,
    " ",
)

text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(exclude_categories=()), max_size=300),
    st.text(st.characters(exclude_categories=()), min_size=300, max_size=1000),
)
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))
amounts = st.decimals(min_value=Decimal("-100000"), max_value=Decimal("100000"), places=2)


def _strategy(name: str, annotation: Any, user_text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """What to make a field of an event from: `user_text` for every text field, except the few
    the platform itself decides (a timezone, an email address it validated)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return st.one_of(*(_strategy(name, arm, user_text) for arm in typing.get_args(annotation)))
    if typing.get_origin(annotation) is list:
        return st.lists(_strategy(name, typing.get_args(annotation)[0], user_text), max_size=3)
    if typing.get_origin(annotation) is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    if annotation is type(None):
        return st.none()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _event(annotation, user_text)
    if annotation is str:
        if name == "timezone":
            return st.sampled_from(["Europe/Lisbon", "Asia/Tokyo", "America/Los_Angeles", "Asia/Jerusalem"])
        if name.endswith("email"):
            return st.emails()
        return user_text
    by_type: dict[Any, st.SearchStrategy[Any]] = {
        UUID: st.builds(uuid4),
        datetime: instants,
        date: st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
        Decimal: amounts,
        int: st.integers(min_value=0, max_value=1000),
        bool: st.booleans(),
    }
    return by_type[annotation]


def _event(model: type[ModelT], user_text: st.SearchStrategy[str] = text) -> st.SearchStrategy[ModelT]:
    fields = {name: _strategy(name, field.annotation, user_text) for name, field in model.model_fields.items()}
    return st.fixed_dictionaries(fields).map(lambda values: model.model_validate(values))


Render = Callable[[Any], EmailMessage]
# Every email kind: the event it is made of and its builder.
EVERY_KIND: list[tuple[type[BaseModel], Render]] = [
    (BookingConfirmed, lambda event: booking_confirmation(event, sender=SENDER)),
    (BookingConfirmed, lambda event: booking_reminder(event, sender=SENDER)),
    (BookingCancelled, lambda event: booking_cancellation(event, sender=SENDER)),
    (BookingModified, lambda event: booking_change(event, sender=SENDER)),
    (BookingBalanceChargeFailed, lambda event: balance_charge_failed(event, sender=SENDER)),
    (BookedOnBehalf, lambda event: booked_on_behalf(event, sender=SENDER)),
    (BookingRequestCreated, lambda event: request_to_provider(event, recipient=PROVIDER, sender=SENDER)),
    (BookingRequestProviderReminded, lambda event: request_to_provider(event, recipient=PROVIDER, sender=SENDER)),
    (BookingRequestProviderWarned, lambda event: request_to_provider(event, recipient=PROVIDER, sender=SENDER)),
    (BookingRequestAccepted, lambda event: request_answered(event, sender=SENDER)),
    (BookingRequestCounterAccepted, lambda event: request_answered(event, sender=SENDER)),
    (BookingRequestDeclined, lambda event: request_declined(event, sender=SENDER)),
    (BookingRequestCountered, lambda event: request_countered(event, sender=SENDER)),
    (BookingRequestExpired, lambda event: request_expired(event, sender=SENDER)),
    (EmailVerificationRequested, lambda event: email_verification(event, sender=SENDER, web_app_url=WEB_APP)),
    (RegistrationAttempted, lambda event: registration_attempted(event, sender=SENDER, web_app_url=WEB_APP)),
    (PasswordResetRequested, lambda event: password_reset(event, sender=SENDER, web_app_url=WEB_APP)),
    (PasswordChanged, lambda event: password_changed(event, sender=SENDER, web_app_url=WEB_APP)),
]
kinds_with_events = st.sampled_from(EVERY_KIND).flatmap(lambda kind: st.tuples(st.just(kind[1]), _event(kind[0])))


def _recipient(event: BaseModel) -> str:
    if isinstance(event, BookingRequestCreated | BookingRequestProviderReminded | BookingRequestProviderWarned):
        return PROVIDER
    if isinstance(event, IdentityEvent):
        return event.email
    # Answers to a request go to the traveler's account; a booking's mail to its contact.
    order = (
        ("traveler_email", "contact_email")
        if type(event).__name__.startswith("BookingRequest")
        else (
            "contact_email",
            "traveler_email",
        )
    )
    address = getattr(event, order[0], None) or getattr(event, order[1], None)
    assert isinstance(address, str)
    return address


def _parsed(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds_with_events)
def test_every_email_parses_back_with_exactly_its_headers_whatever_the_user_text(
    kind_and_event: tuple[Render, BaseModel],
) -> None:
    render, event = kind_and_event
    message = render(event)
    parsed = _parsed(message)

    assert sorted(parsed.keys()) == sorted(message.keys())
    assert {"From", "To", "Subject", "MIME-Version", "Content-Type"} <= set(parsed.keys())
    assert all(len(parsed.get_all(name, [])) == 1 for name in parsed)
    subject = str(parsed["Subject"])
    assert subject == str(message["Subject"])
    assert not {"\n", "\r"} & set(subject)
    assert 0 < len(subject) <= SUBJECT_LIMIT
    assert (str(parsed["From"]), str(parsed["To"])) == (SENDER, _recipient(event))
    assert not parsed.defects
    body = parsed.get_body(("plain",))
    assert body is not None
    assert "Hello" in body.get_content()
    for part in parsed.walk():
        assert not part.defects


MARKUP = "<script>alert('x')</script> & \"co\""
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;co&#34;"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EVERY_KIND).flatmap(lambda kind: st.tuples(st.just(kind[1]), _event(kind[0], st.just(MARKUP)))))
def test_markup_a_user_typed_is_escaped_in_the_html_and_as_typed_in_the_text_of_every_email(
    kind_and_event: tuple[Render, BaseModel],
) -> None:
    render, event = kind_and_event
    parsed = _parsed(render(event))

    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert MARKUP in plain.get_content()
    assert ESCAPED in html.get_content()
    assert "<script>" not in html.get_content()
    assert [part.get_content_type() for part in parsed.walk()][:4] in (
        ["multipart/alternative", "text/plain", "text/html"],
        ["multipart/mixed", "multipart/alternative", "text/plain", "text/html"],
    )


def _confirmed(title: str) -> BookingConfirmed:
    starts_at = datetime(2031, 5, 10, 9, 0, tzinfo=UTC)
    return BookingConfirmed(
        booking_id=uuid4(),
        reference="TRV-2031-ABC123",
        traveler_id=uuid4(),
        provider_id=uuid4(),
        listing_id=uuid4(),
        listing_title=title,
        category="tour",
        slot_id=uuid4(),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        timezone="Europe/Lisbon",
        seats=2,
        total=Decimal("88.00"),
        platform_fee=Decimal("13.20"),
        currency="EUR",
        contact_name="Ana",
        contact_email="ana@example.com",
        confirmed_at=starts_at - timedelta(days=5),
    )


def test_a_listing_title_with_a_line_break_still_makes_a_confirmation_with_the_title_on_one_line() -> None:
    parsed = _parsed(booking_confirmation(_confirmed("Sunset kayak\r\nBcc: everyone@example.com"), sender=SENDER))

    assert str(parsed["Subject"]) == "Booking TRV-2031-ABC123 confirmed: Sunset kayak Bcc: everyone@example.com"
    assert parsed["Bcc"] is None
    invite = next(part for part in parsed.walk() if part.get_content_type() == "text/calendar")
    assert "SUMMARY:Sunset kayak Bcc: everyone@example.com" in invite.get_content()


def test_a_very_long_subject_is_cut_with_an_ellipsis_and_keeps_emoji_whole() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    subject = str(_parsed(booking_confirmation(_confirmed(family * 100), sender=SENDER))["Subject"])

    assert len(subject) <= SUBJECT_LIMIT
    assert subject.endswith("\u2026")
    assert not subject[:-1].endswith("\u200d")
