"""Every person hears what concerns them: one event may tell several people (a booking's
traveler and its provider; every admin and the payee of a failed payout), each once however
often the event comes, each in their own language from the directory; an account the directory
has not heard of is told nothing, and the event's other notifications still go."""

import email
import email.policy
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import pytest

from services.notification.email.rendering import format_when
from services.notification.notifications.consumers import booking_events_consumer
from services.notification.notifications.domain import NotificationKind
from services.notification.notifications.models import Delivery, Notification
from services.notification.tests.conftest import NotificationApp, SmtpSink, booking_confirmed
from services.notification.tests.test_directory import account_changed
from shared.contracts.booking import (
    BookingCancelled,
    BookingExpired,
    BookingModified,
    BookingPaymentFailed,
    BookingRefundCompleted,
    HandoffRequested,
    WaitlistOffered,
)
from shared.contracts.payment import PayoutFailed
from shared.contracts.webhooks import WebhookSubscriptionDisabled
from shared.events.envelope import EventEnvelope, EventPayload
from shared.identity import Identity, Role
from shared.testing import make_identity

STARTS_AT = datetime(2031, 5, 10, 9, 0, tzinfo=UTC)
LISBON = "Europe/Lisbon"


def _wrap(event: EventPayload, producer: str = "booking") -> EventEnvelope:
    return EventEnvelope.wrap(event, producer=producer, key=str(uuid.uuid4()))


async def _known(app: NotificationApp, *roles: Role, locale: str = "en") -> Identity:
    """An account the gateway announced, so the directory knows it."""
    person = make_identity(*roles)
    await app.consume(account_changed(person.user_id, email=person.email, roles=list(roles), locale=locale))
    return person


async def _told(app: NotificationApp, kind: NotificationKind) -> list[Notification]:
    return [notification for notification in await app.notifications() if notification.kind == kind.value]


async def _deliveries(app: NotificationApp, notification: Notification) -> dict[str, Delivery]:
    return {
        delivery.channel: delivery for delivery in await app.deliveries() if delivery.notification_id == notification.id
    }


def _email(delivery: Delivery) -> EmailMessage:
    message = email.message_from_bytes(delivery.content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _text(delivery: Delivery) -> str:
    body = _email(delivery).get_body(("plain",))
    assert body is not None
    text: str = body.get_content()
    return text


async def _feed(app: NotificationApp, viewer: Identity) -> list[dict[str, Any]]:
    response = await app.client.get("/notifications", headers=app.as_(viewer))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _cancelled(booking: dict[str, Any], **changes: Any) -> BookingCancelled:
    return BookingCancelled(
        **{
            **{key: booking[key] for key in BookingCancelled.model_fields if key in booking},
            "cancelled_by": "traveler",
            "reason": "Plans changed",
            "was_confirmed": True,
            "was_paid": True,
            "refund": Decimal("88.00"),
            "credit": Decimal(0),
            "cancelled_at": STARTS_AT - timedelta(days=2),
            **changes,
        }
    )


def _confirmed_by(provider: Identity, traveler: Identity | None = None, **changes: Any) -> EventEnvelope:
    envelope = booking_confirmed(traveler_id=traveler.user_id if traveler else None)
    payload = {**envelope.payload, "provider_id": str(provider.user_id), **changes}
    return envelope.model_copy(update={"payload": payload})


async def test_a_confirmed_booking_tells_its_traveler_and_its_provider_each_by_email_and_in_app(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    provider = await _known(notification_app, "provider", locale="pt-PT")
    traveler = await _known(notification_app, "traveler", locale="de")
    confirmed = _confirmed_by(provider, traveler)

    await notification_app.consume(confirmed)

    [to_traveler] = await _told(notification_app, NotificationKind.BOOKING_CONFIRMED)
    [to_provider] = await _told(notification_app, NotificationKind.PROVIDER_BOOKING_RECEIVED)
    # The traveler's email goes to the contact they gave, in their account's language.
    assert (to_traveler.recipient_email, to_traveler.locale) == ("ana@example.com", "de")
    assert (to_provider.recipient_user_id, to_provider.recipient_email) == (provider.user_id, provider.email)
    assert (to_provider.locale, to_provider.timezone) == ("pt-PT", LISBON)
    provider_email = (await _deliveries(notification_app, to_provider))["email"]
    assert str(_email(provider_email)["Subject"]) == "New booking from Ana: 2 place(s), Sunset kayak tour"
    body = _text(provider_email)
    assert confirmed.payload["reference"] in body
    assert "Ana booked 2 place(s)" in body
    assert "88,00\u00a0€ paid" in body  # in the provider's Portuguese
    [item] = await _feed(notification_app, provider)
    assert (item["kind"], item["subject"]) == (
        "provider_booking_received",
        {"type": "booking", "id": confirmed.payload["booking_id"]},
    )
    assert confirmed.payload["reference"] in item["summary"]
    assert [entry["kind"] for entry in await _feed(notification_app, traveler)] == ["booking_confirmed"]

    while await notification_app.deliver():
        pass
    assert sorted(message["rcpt_tos"][0] for message in smtp_sink.store.messages) == sorted(
        ["ana@example.com", provider.email]
    )


async def test_a_provider_the_directory_has_not_heard_of_yet_is_told_once_their_account_is_announced(
    notification_app: NotificationApp,
) -> None:
    provider = make_identity("provider")
    confirmed = _confirmed_by(provider)

    # The booking's event is read before the gateway's announcement of the provider's account
    # (two topics, read independently): the traveler is told at once, the provider's notice waits.
    await notification_app.consume(confirmed)
    assert [n.kind for n in await notification_app.notifications()] == ["booking_confirmed"]

    announced = account_changed(provider.user_id, email=provider.email, roles=["provider"], locale="pt-PT")
    await notification_app.consume(announced, announced)
    [to_provider] = await _told(notification_app, NotificationKind.PROVIDER_BOOKING_RECEIVED)
    assert (to_provider.recipient_user_id, to_provider.recipient_email, to_provider.locale) == (
        provider.user_id,
        provider.email,
        "pt-PT",
    )
    assert to_provider.source_event_id == confirmed.event_id
    # A later change of the account, and the booking's event read again, tell nobody twice.
    await notification_app.consume(
        account_changed(provider.user_id, email=provider.email, roles=["provider"], locale="en"), confirmed
    )
    assert len(await _told(notification_app, NotificationKind.PROVIDER_BOOKING_RECEIVED)) == 1


async def test_a_repeated_event_tells_each_person_once(notification_app: NotificationApp) -> None:
    provider = await _known(notification_app, "provider")
    confirmed = _confirmed_by(provider)
    # The same event twice in a batch, and once more as a new consumer (an empty inbox) would
    # read it again.
    await notification_app.consume(confirmed, confirmed)
    route = booking_events_consumer(notification_app.settings, notification_app.clock, notification_app.redis).route(
        confirmed
    )
    assert route is not None
    handler, readable = route
    async with notification_app.sessions() as session, session.begin():
        await handler(session, readable)

    told = sorted(n.kind for n in await notification_app.notifications())
    assert told == ["booking_confirmed", "provider_booking_received"]
    assert len(await notification_app.deliveries()) == 2
    assert len(await _feed(notification_app, provider)) == 1


async def test_a_cancellation_tells_the_provider_who_cancelled_and_why(notification_app: NotificationApp) -> None:
    provider = await _known(notification_app, "provider")
    booking = _confirmed_by(provider).payload

    await notification_app.consume(_wrap(_cancelled(booking, reason="Our flight was cancelled")))

    [to_provider] = await _told(notification_app, NotificationKind.PROVIDER_BOOKING_CANCELLED)
    body = _text((await _deliveries(notification_app, to_provider))["email"])
    assert "The traveler cancelled it: Our flight was cancelled" in body
    assert booking["reference"] in body
    [item] = await _feed(notification_app, provider)
    assert item["subject"] == {"type": "booking", "id": booking["booking_id"]}
    assert len(await _told(notification_app, NotificationKind.BOOKING_CANCELLED)) == 1


async def test_a_blackouts_cancellation_is_named_in_the_travelers_feed_and_to_the_provider(
    notification_app: NotificationApp,
) -> None:
    provider = await _known(notification_app, "provider")
    traveler = await _known(notification_app, "traveler")
    booking = _confirmed_by(provider, traveler).payload
    cancelled = _cancelled(
        booking,
        cancelled_by="provider",
        reason="The date was blacked out by the provider: Storm warning\nno boats",
        blackout_id=uuid.uuid4(),
        blackout_reason="Storm warning\nno boats",
    )

    await notification_app.consume(_wrap(cancelled))

    [item] = await _feed(notification_app, traveler)
    assert item["kind"] == "booking_cancelled"
    assert item["title"].startswith("Date blacked out: Booking ")
    [to_traveler] = await _told(notification_app, NotificationKind.BOOKING_CANCELLED)
    traveler_email = (await _deliveries(notification_app, to_traveler))["email"]
    assert "The date was blacked out by the provider: Storm warning" in _text(traveler_email)
    [to_provider] = await _told(notification_app, NotificationKind.PROVIDER_BOOKING_CANCELLED)
    provider_body = _text((await _deliveries(notification_app, to_provider))["email"])
    assert "You blacked out its date, which cancelled it: Storm warning no boats" in provider_body


async def test_a_change_tells_the_provider_what_the_booking_now_reads(notification_app: NotificationApp) -> None:
    provider = await _known(notification_app, "provider")
    booking = _confirmed_by(provider).payload
    changed = BookingModified(
        **{
            **{key: booking[key] for key in BookingModified.model_fields if key in booking},
            "modification_id": uuid.uuid4(),
            "old_slot_id": booking["slot_id"],
            "slot_id": uuid.uuid4(),
            "starts_at": STARTS_AT + timedelta(days=1),
            "ends_at": STARTS_AT + timedelta(days=1, hours=2),
            "seats": 3,
            "total": Decimal("132.00"),
            "difference": Decimal("44.00"),
            "modified_at": STARTS_AT - timedelta(days=3),
            "calendar_sequence": 1,
        }
    )

    await notification_app.consume(_wrap(changed))

    [to_provider] = await _told(notification_app, NotificationKind.PROVIDER_BOOKING_CHANGED)
    body = _text((await _deliveries(notification_app, to_provider))["email"])
    assert "3 place(s), €132.00 in all" in body
    assert format_when(changed.starts_at, LISBON) in body
    assert [item["kind"] for item in await _feed(notification_app, provider)] == ["provider_booking_changed"]


def _handoff(expert: Identity, **changes: Any) -> HandoffRequested:
    return HandoffRequested(
        **{
            "handoff_id": uuid.uuid4(),
            "traveler_id": uuid.uuid4(),
            "expert_id": expert.user_id,
            "at": STARTS_AT - timedelta(days=30),
            "traveler_email": "ana@example.com",
            "description": "Two weeks in Japan:\nonsen, 🍣 and trains. " + "Kyoto " * 400,
            "start_date": date(2031, 4, 1),
            "end_date": date(2031, 4, 14),
            "budget": Decimal("4000"),
            "currency": "EUR",
            **changes,
        }
    )


async def test_an_expert_hears_of_a_handoff_asked_of_them_by_email_and_in_app(
    notification_app: NotificationApp,
) -> None:
    expert = await _known(notification_app, "expert")
    handoff = _handoff(expert)

    await notification_app.consume(_wrap(handoff))

    [to_expert] = await _told(notification_app, NotificationKind.HANDOFF_REQUESTED)
    assert to_expert.recipient_email == expert.email
    message = _email((await _deliveries(notification_app, to_expert))["email"])
    assert str(message["Subject"]) == "A traveler asks you to plan their trip (ana@example.com)"
    body = _text((await _deliveries(notification_app, to_expert))["email"])
    assert "Two weeks in Japan:\nonsen, 🍣 and trains." in body
    assert "Tuesday, April 1, 2031 to Monday, April 14, 2031" in body
    assert "€4,000.00" in body
    [item] = await _feed(notification_app, expert)
    assert item["subject"] == {"type": "handoff", "id": str(handoff.handoff_id)}
    assert item["summary"].startswith("Two weeks in Japan: onsen, 🍣 and trains. Kyoto Kyoto")
    assert len(item["summary"]) == 500


async def test_a_handoff_to_an_expert_the_directory_has_not_heard_of_yet_waits_for_their_account(
    notification_app: NotificationApp,
) -> None:
    expert = make_identity("expert")
    await notification_app.consume(_wrap(_handoff(expert)))
    assert await notification_app.notifications() == []

    await notification_app.consume(account_changed(expert.user_id, email=expert.email, roles=["expert"]))
    assert [(n.kind, n.recipient_user_id) for n in await notification_app.notifications()] == [
        ("handoff_requested", expert.user_id)
    ]


def _offer(traveler: Identity, **changes: Any) -> WaitlistOffered:
    return WaitlistOffered(
        **{
            "entry_id": uuid.uuid4(),
            "traveler_id": traveler.user_id,
            "traveler_email": traveler.email,
            "listing_id": uuid.uuid4(),
            "listing_title": "Sunset kayak tour",
            "local_date": date(2031, 5, 10),
            "party_size": 2,
            "hold_id": uuid.uuid4(),
            "slot_id": uuid.uuid4(),
            "seats": 2,
            "starts_at": STARTS_AT,
            "timezone": LISBON,
            "offer_expires_at": datetime(2031, 5, 5, 23, 30, tzinfo=UTC),
            "offered_at": datetime(2031, 5, 4, 23, 30, tzinfo=UTC),
            **changes,
        }
    )


async def test_a_waitlist_offer_says_until_when_in_the_listings_time_by_email_sms_and_in_app(
    notification_app: NotificationApp,
) -> None:
    traveler = make_identity("traveler")
    # The number they gave with an earlier booking is the one the offer goes to.
    earlier = booking_confirmed(traveler_id=traveler.user_id)
    earlier = earlier.model_copy(update={"payload": {**earlier.payload, "contact_phone": "+351 912 345 678"}})
    await notification_app.consume(earlier)
    offer = _offer(traveler)

    await notification_app.consume(_wrap(offer))

    [told] = await _told(notification_app, NotificationKind.WAITLIST_OFFERED)
    deliveries = await _deliveries(notification_app, told)
    assert set(deliveries) == {"email", "sms"}
    # 23:30 UTC is half past midnight the next day in Lisbon's summer time.
    until = format_when(offer.offer_expires_at, LISBON)
    assert until.startswith("Tuesday, May 6, 2031")
    assert f"book them by {until}" in _text(deliveries["email"])
    assert deliveries["email"].address == traveler.email
    assert deliveries["sms"].address == "+351912345678"
    assert "Book by 06 May 2031 00:30 (Europe/Lisbon)" in deliveries["sms"].content.decode()
    offered = [item for item in await _feed(notification_app, traveler) if item["kind"] == "waitlist_offered"]
    assert [item["subject"] for item in offered] == [{"type": "waitlist_entry", "id": str(offer.entry_id)}]


async def test_a_waitlist_offer_to_a_traveler_with_no_phone_on_record_goes_by_email_and_in_app(
    notification_app: NotificationApp,
) -> None:
    traveler = make_identity("traveler")

    await notification_app.consume(_wrap(_offer(traveler, traveler_email=None, timezone=None, starts_at=None)))
    # No address in the event and none in the directory: nobody to write to.
    assert await notification_app.notifications() == []

    await notification_app.consume(account_changed(traveler.user_id, email=traveler.email))
    await notification_app.consume(_wrap(_offer(traveler, traveler_email=None, timezone=None, starts_at=None)))

    [told] = await _told(notification_app, NotificationKind.WAITLIST_OFFERED)
    deliveries = await _deliveries(notification_app, told)
    assert set(deliveries) == {"email"}
    assert deliveries["email"].address == traveler.email
    assert "(Coordinated Universal Time)" in _text(deliveries["email"])
    assert len(await _feed(notification_app, traveler)) == 1


def _unpaid(event: type[BookingExpired] | type[BookingPaymentFailed], **changes: Any) -> Any:
    return event(
        **{
            "booking_id": uuid.uuid4(),
            "hold_id": uuid.uuid4(),
            "slot_id": uuid.uuid4(),
            "reference": "TRV-2031-UNPAID",
            "traveler_id": uuid.uuid4(),
            "listing_title": "Sunset kayak tour",
            "starts_at": STARTS_AT,
            "timezone": LISBON,
            "seats": 2,
            "contact_name": "Ana",
            "contact_email": "ana@example.com",
            "amount_due": Decimal("88.00"),
            "currency": "EUR",
            **changes,
        }
    )


async def test_a_booking_that_lapsed_unpaid_tells_its_traveler_nothing_was_charged(
    notification_app: NotificationApp,
) -> None:
    expired = _unpaid(BookingExpired, expired_at=STARTS_AT - timedelta(days=6))

    await notification_app.consume(_wrap(expired))

    [told] = await _told(notification_app, NotificationKind.BOOKING_EXPIRED)
    assert (told.subject_type, told.subject_id) == ("booking", expired.booking_id)
    email_delivery = (await _deliveries(notification_app, told))["email"]
    assert str(_email(email_delivery)["Subject"]) == "Booking TRV-2031-UNPAID expired unpaid: Sunset kayak tour"
    assert "Nothing was charged." in _text(email_delivery)


async def test_an_old_expired_event_without_the_bookings_facts_is_written_to_the_travelers_account(
    notification_app: NotificationApp,
) -> None:
    traveler = await _known(notification_app, "traveler")
    old = BookingExpired(booking_id=uuid.uuid4(), hold_id=uuid.uuid4(), traveler_id=traveler.user_id)

    await notification_app.consume(_wrap(old))

    [told] = await _told(notification_app, NotificationKind.BOOKING_EXPIRED)
    assert told.recipient_email == traveler.email
    assert "Nothing was charged." in _text((await _deliveries(notification_app, told))["email"])


async def test_a_declined_card_tells_the_traveler_why_and_how_to_try_again(notification_app: NotificationApp) -> None:
    failed = _unpaid(BookingPaymentFailed, reason="Your card was declined.", failed_at=STARTS_AT - timedelta(days=6))

    await notification_app.consume(_wrap(failed))

    [told] = await _told(notification_app, NotificationKind.PAYMENT_FAILED)
    body = _text((await _deliveries(notification_app, told))["email"])
    assert "Your card was declined (Your card was declined.)" in body
    assert "€88.00 due at checkout" in body
    assert "To try again, book the same date again and pay with another card" in body


def _refund(refunded_to: str | None, **changes: Any) -> BookingRefundCompleted:
    return BookingRefundCompleted(
        **{
            "booking_id": uuid.uuid4(),
            "reference": "TRV-2031-REFUND",
            "traveler_id": uuid.uuid4(),
            "provider_id": uuid.uuid4(),
            "listing_id": uuid.uuid4(),
            "listing_title": "Sunset kayak tour",
            "starts_at": STARTS_AT,
            "timezone": LISBON,
            "contact_name": "Ana",
            "contact_email": "ana@example.com",
            "amount": Decimal("44.00"),
            "currency": "EUR",
            "refunded_to": refunded_to,
            "refund_id": f"re_{uuid.uuid4().hex}",
            "payment_intent_id": f"pi_{uuid.uuid4().hex}",
            "refunded_at": STARTS_AT - timedelta(days=2),
            **changes,
        }
    )


@pytest.mark.parametrize(
    ("refunded_to", "says"),
    [
        ("card", "€44.00 went back to the card you paid with"),
        ("credit", "€44.00 was added to your credit"),
        (None, "€44.00 was refunded to you"),
    ],
)
async def test_a_refund_tells_the_traveler_how_much_went_back_and_where(
    notification_app: NotificationApp, refunded_to: str | None, says: str
) -> None:
    refund = _refund(refunded_to)

    await notification_app.consume(_wrap(refund))

    [told] = await _told(notification_app, NotificationKind.REFUND_COMPLETED)
    deliveries = await _deliveries(notification_app, told)
    assert set(deliveries) == {"email"}
    message = _email(deliveries["email"])
    assert str(message["Subject"]) == "Refund of €44.00 for booking TRV-2031-REFUND: Sunset kayak tour"
    assert says in _text(deliveries["email"])
    assert told.recipient_user_id == refund.traveler_id


def _payout_failed(payee: Identity, role: str = "provider") -> PayoutFailed:
    return PayoutFailed(
        payout_id=uuid.uuid4(),
        stripe_payout_id="po_123",
        stripe_account_id="acct_123",
        booking_id=uuid.uuid4(),
        recipient_id=payee.user_id,
        recipient_role=role,
        amount=Decimal("74.80"),
        currency="EUR",
        failure_code="account_closed",
        failure_message="The bank account has been closed.",
        failed_at=STARTS_AT,
    )


async def test_a_failed_payout_tells_every_admin_and_its_payee(notification_app: NotificationApp) -> None:
    admins = [await _known(notification_app, "admin"), await _known(notification_app, "admin", "traveler")]
    await _known(notification_app, "traveler")
    expert = await _known(notification_app, "expert", locale="fr")
    payout = _payout_failed(expert, role="expert")

    await notification_app.consume(_wrap(payout, producer="payment"))

    to_ops = await _told(notification_app, NotificationKind.PAYOUT_FAILED_OPS)
    assert sorted(str(n.recipient_user_id) for n in to_ops) == sorted(str(admin.user_id) for admin in admins)
    ops_body = _text((await _deliveries(notification_app, to_ops[0]))["email"])
    assert f"€74.80 to expert {expert.user_id}" in ops_body
    assert "Failure: account_closed: The bank account has been closed." in ops_body
    for admin in admins:
        [item] = await _feed(notification_app, admin)
        assert (item["kind"], item["subject"]) == ("payout_failed_ops", {"type": "payout", "id": str(payout.payout_id)})
        assert item["summary"] == "74.80 EUR"
    [to_payee] = await _told(notification_app, NotificationKind.PAYOUT_FAILED)
    assert (to_payee.recipient_email, to_payee.locale) == (expert.email, "fr")
    assert "74,80\u00a0€" in _text((await _deliveries(notification_app, to_payee))["email"])
    assert [item["kind"] for item in await _feed(notification_app, expert)] == ["payout_failed"]


async def test_a_failed_payout_whose_payee_the_directory_does_not_know_still_tells_the_admins(
    notification_app: NotificationApp,
) -> None:
    admin = await _known(notification_app, "admin")

    await notification_app.consume(_wrap(_payout_failed(make_identity("provider")), producer="payment"))

    assert [(n.kind, n.recipient_user_id) for n in await notification_app.notifications()] == [
        ("payout_failed_ops", admin.user_id)
    ]


async def test_a_disabled_webhook_subscription_tells_its_owner_in_app_and_by_email(
    notification_app: NotificationApp,
) -> None:
    provider = await _known(notification_app, "provider")
    disabled = WebhookSubscriptionDisabled(
        subscription_id=uuid.uuid4(),
        owner_id=provider.user_id,
        url="https://hooks.example.com/in",
        reason="its endpoint kept failing (last: answered 500)",
        failed_deliveries=5,
        failing_since=STARTS_AT - timedelta(days=1),
        disabled_at=STARTS_AT,
    )

    envelope = _wrap(disabled)
    await notification_app.consume(envelope)
    await notification_app.consume(envelope)

    [told] = await _told(notification_app, NotificationKind.WEBHOOK_SUBSCRIPTION_DISABLED)
    assert (told.recipient_user_id, told.recipient_email) == (provider.user_id, provider.email)
    body = _text((await _deliveries(notification_app, told))["email"])
    assert "https://hooks.example.com/in" in body
    assert "answered 500" in body
    [item] = await _feed(notification_app, provider)
    assert (item["kind"], item["subject"]) == (
        "webhook_subscription_disabled",
        {"type": "webhook_subscription", "id": str(disabled.subscription_id)},
    )
