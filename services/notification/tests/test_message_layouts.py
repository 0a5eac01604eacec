"""The emails of providers, experts, travelers' waitlist offers and money matters, and ops'
stay valid messages whatever users typed into them (line breaks, control characters,
right-to-left text, emoji, lone surrogates or very long text in a title, a name, a reason or a
trip's description), in any locale: exactly their headers, one-line and bounded subjects, a
text and an HTML body with nothing a user typed read as markup."""

import html
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from services.notification.email.ops_messages import payout_failed, payout_failed_ops, webhook_subscription_disabled
from services.notification.email.provider_messages import (
    handoff_requested,
    provider_booking_cancelled,
    provider_booking_changed,
    provider_booking_received,
)
from services.notification.email.rendering import SUBJECT_LIMIT
from services.notification.email.traveler_messages import (
    booking_expired,
    payment_failed,
    refund_completed,
    waitlist_offered,
)
from services.notification.sms.domain import fit_body
from services.notification.sms.texts import TITLE_LIMIT, waitlist_offered_text
from services.notification.tests.test_email_templates import HOSTILE, SENDER, _event, _parsed
from shared.contracts.booking import (
    BookingCancelled,
    BookingConfirmed,
    BookingExpired,
    BookingModified,
    BookingPaymentFailed,
    BookingRefundCompleted,
    HandoffRequested,
    WaitlistOffered,
)
from shared.contracts.payment import PayoutFailed
from shared.contracts.webhooks import WebhookSubscriptionDisabled

RECIPIENT = "someone@example.com"

Render = Callable[..., Any]
NEW_KINDS: dict[type[BaseModel], Render] = {
    BookingConfirmed: provider_booking_received,
    BookingCancelled: provider_booking_cancelled,
    BookingModified: provider_booking_changed,
    HandoffRequested: handoff_requested,
    WaitlistOffered: waitlist_offered,
    BookingExpired: booking_expired,
    BookingPaymentFailed: payment_failed,
    BookingRefundCompleted: refund_completed,
    PayoutFailed: payout_failed,
    WebhookSubscriptionDisabled: webhook_subscription_disabled,
}
# Ops' email of a failed payout is made from the same event as the payee's.
RENDERS: list[tuple[type[BaseModel], Render]] = [*NEW_KINDS.items(), (PayoutFailed, payout_failed_ops)]
locales = st.sampled_from(["en", "pt-PT", "de", "ar", "he", "ja", "not a locale"])
kinds_with_events = st.sampled_from(RENDERS).flatmap(lambda kind: st.tuples(st.just(kind[1]), _event(kind[0]), locales))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds_with_events)
def test_every_new_email_parses_back_with_exactly_its_headers_whatever_the_user_text(
    render_event_locale: tuple[Render, BaseModel, str],
) -> None:
    render, event, locale = render_event_locale
    message = render(event, sender=SENDER, recipient=RECIPIENT, locale=locale)
    parsed = _parsed(message)

    assert sorted(parsed.keys()) == sorted(message.keys())
    assert all(len(parsed.get_all(name, [])) == 1 for name in parsed)
    subject = str(parsed["Subject"])
    assert subject == str(message["Subject"])
    assert not {"\n", "\r"} & set(subject)
    assert 0 < len(subject) <= SUBJECT_LIMIT
    assert (str(parsed["From"]), str(parsed["To"])) == (SENDER, RECIPIENT)
    assert not parsed.defects
    for part in parsed.walk():
        assert not part.defects
    text, markup = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None
    assert markup is not None
    assert text.get_content().startswith("Hello")
    assert markup.get_content().count("<html") == 1


@given(_event(HandoffRequested).map(lambda handoff: handoff.model_copy(update={"description": HOSTILE[2]})))
@settings(max_examples=20, deadline=None)
def test_markup_a_traveler_types_shows_as_text_in_the_html_email(handoff: HandoffRequested) -> None:
    markup = _parsed(handoff_requested(handoff, sender=SENDER, recipient=RECIPIENT)).get_body(("html",))
    assert markup is not None

    assert "<html>injected body</html>" not in markup.get_content()
    assert html.escape("<html>injected body</html>") in markup.get_content()


@settings(max_examples=200, deadline=None)
@given(_event(WaitlistOffered))
def test_a_waitlist_offers_sms_keeps_the_title_on_one_bounded_line_and_says_until_when(
    offer: WaitlistOffered,
) -> None:
    body = fit_body(waitlist_offered_text(offer))

    first_line = body.split(". Book by ")[0]
    assert len(first_line) <= len("999 place(s) held for you: , 01 Jan 2000") + TITLE_LIMIT
    assert "\n" not in first_line
    assert "Book by " in body
