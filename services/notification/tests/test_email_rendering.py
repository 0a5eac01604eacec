"""Emails are rendered from template files in the recipient's locale: money in its currency's
own digits, times in the listing's own zone with the zone named, user text escaped in HTML and
verbatim in the text, and a multipart/alternative message (mixed when an invite is attached)."""

import email
import email.policy
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage

import pytest

from services.notification.email.rendering import format_money, format_when, render_email
from services.notification.email.templates import booking_confirmation
from services.notification.tests.test_email_templates import SENDER, _confirmed


def _parsed(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _bodies(message: EmailMessage) -> tuple[str, str]:
    parsed = _parsed(message)
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        (Decimal("12345.5"), "JPY", "en", "¥12,346"),
        (Decimal("88"), "EUR", "en", "€88.00"),
        (Decimal("88"), "EUR", "de", "88,00\xa0€"),
        (Decimal("12.3"), "KWD", "en", "KWD12.300"),
        (Decimal("1234.5"), "usd", "fr", "1\u202f234,50\xa0$US"),
    ],
)
def test_money_is_shown_with_its_currencys_own_digits_in_the_locales_way(
    amount: Decimal, currency: str, locale: str, shown: str
) -> None:
    assert format_money(amount, currency, locale) == shown


def test_a_time_is_shown_in_the_listings_zone_with_the_zone_named() -> None:
    at = datetime(2031, 5, 10, 9, 0, tzinfo=UTC)

    assert format_when(at, "Asia/Tokyo", "en") == "Saturday, May 10, 2031, 6:00\u202fPM (Japan Standard Time)"
    assert format_when(at, "Europe/Lisbon", "de") == "Samstag, 10. Mai 2031, 10:00 (Westeuropäische Sommerzeit)"


@pytest.mark.parametrize("locale", ["xx-YY", "", "not a locale!", "en"])
def test_an_unknown_or_invalid_locale_renders_in_english(locale: str) -> None:
    text, html = _bodies(booking_confirmation(_confirmed("Kayak"), sender=SENDER, locale=locale))

    assert "Saturday, May 10, 2031, 10:00\u202fAM (Western European Summer Time)" in text
    assert "€88.00 paid" in text
    assert '<html lang="en" dir="ltr">' in html


def test_the_confirmation_renders_in_the_recipients_locale() -> None:
    text, html = _bodies(booking_confirmation(_confirmed("Kayak"), sender=SENDER, locale="pt-BR"))

    assert "sábado, 10 de maio de 2031 10:00 (Horário de Verão da Europa Ocidental)" in text
    assert "€\xa088,00 paid" in text
    assert '<html lang="pt-BR" dir="ltr">' in html


def test_a_right_to_left_locale_sets_the_html_direction() -> None:
    _, html = _bodies(booking_confirmation(_confirmed("Kayak"), sender=SENDER, locale="ar"))

    assert '<html lang="ar" dir="rtl">' in html


def test_the_confirmation_is_text_and_html_alternatives_then_the_invite() -> None:
    parsed = _parsed(booking_confirmation(_confirmed("Kayak"), sender=SENDER))

    assert parsed.get_content_type() == "multipart/mixed"
    assert [part.get_content_type() for part in parsed.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    assert [part["MIME-Version"] for part in parsed.walk()][1:] == [None] * 4


def test_user_text_is_escaped_in_the_html_and_verbatim_in_the_text() -> None:
    title = "Kayak <script>alert('x')</script> & \"friends\""
    text, html = _bodies(booking_confirmation(_confirmed(title), sender=SENDER))

    assert title in text
    assert "<script>" not in html
    assert "Kayak &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;friends&#34;" in html


def test_render_email_makes_an_alternative_message_from_a_kinds_files() -> None:
    message = render_email(
        "booking_confirmation",
        {"booking": _confirmed("Kayak")},
        sender="Travel <bookings@travel.example>",
        recipient="ana@example.com",
        locale="ja",
    )

    assert message.get_content_type() == "multipart/alternative"
    assert str(message["Subject"]) == "Booking TRV-2031-ABC123 confirmed: Kayak"
    text, _ = _bodies(message)
    assert "2031年5月10日土曜日 10:00 (西ヨーロッパ夏時間)" in text
