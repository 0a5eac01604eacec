"""Notifications are recorded once per event and delivered after, outside the transaction:
retried with backoff while SMTP is down and sent once when it is back, dead (counted, and
resent by an admin) after the retry window, sent again with the same Message-ID after a
worker died mid-send, and claimed once by each of two worker replicas."""

import asyncio
from datetime import timedelta

from services.notification.email.sender import SmtpSender
from services.notification.notifications.consumers import booking_events_consumer
from services.notification.notifications.service import claim_due_deliveries, record_failure, record_sent
from services.notification.tests.conftest import NotificationApp, SmtpSink, booking_confirmed
from shared.db import create_engine, create_session_factory
from shared.testing import make_identity


async def test_a_redelivered_event_makes_no_second_notification(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    confirmed = booking_confirmed()
    await notification_app.consume(confirmed, confirmed)
    # Applied again past the inbox (as a replay under a renamed consumer would be): still once.
    spec = booking_events_consumer(notification_app.settings, notification_app.clock, notification_app.redis)
    route = spec.route(confirmed)
    assert route is not None
    handler, readable = route
    async with notification_app.sessions() as session, session.begin():
        await handler(session, readable)

    [notification] = await notification_app.notifications()
    assert (notification.kind, notification.source_event_id) == ("booking_confirmed", confirmed.event_id)
    assert (notification.subject_type, str(notification.subject_id)) == ("booking", confirmed.payload["booking_id"])
    assert notification.recipient_user_id is not None
    assert notification.timezone == "Europe/Lisbon"
    [delivery] = await notification_app.deliveries()
    assert (delivery.channel, delivery.state, delivery.address) == ("email", "pending", "ana@example.com")

    assert await notification_app.deliver() == 1
    assert len(smtp_sink.received(delivery.idempotency_key)) == 1
    assert len(smtp_sink.store.messages) == 1


async def test_a_delivery_retries_with_backoff_while_smtp_refuses_then_is_sent_exactly_once(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    schedule = notification_app.settings.delivery_policy().schedule
    smtp_sink.stop()
    await notification_app.consume(booking_confirmed())

    for attempt in range(1, 8):
        failed_at = notification_app.clock.now()
        assert await notification_app.deliver() == 1
        [delivery] = await notification_app.deliveries()
        assert (delivery.state, delivery.attempts) == ("failed_retrying", attempt)
        assert "SMTP" in (delivery.last_error or "")
        assert delivery.next_attempt_at is not None
        assert failed_at <= delivery.next_attempt_at <= failed_at + schedule.ceiling(attempt)
        # Not due before its time: the worker leaves it alone.
        notification_app.clock.advance(delivery.next_attempt_at - failed_at - timedelta(microseconds=1))
        assert await notification_app.deliver() == 0
        notification_app.clock.advance(timedelta(microseconds=1))
    assert schedule.ceiling(7) > schedule.ceiling(1)

    smtp_sink.start()
    assert await notification_app.deliver() == 1
    [delivery] = await notification_app.deliveries()
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == ("sent", 8, None)
    assert delivery.provider_message_id == delivery.idempotency_key
    assert delivery.sent_at == notification_app.clock.now()
    notification_app.clock.advance(timedelta(days=2))
    assert await notification_app.deliver() == 0
    assert len(smtp_sink.store.messages) == 1
    assert smtp_sink.store.duplicates_dropped == 0
    assert len(smtp_sink.received(delivery.idempotency_key)) == 1


async def test_a_delivery_failing_past_its_max_age_is_dead_counted_and_resent_by_an_admin(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    smtp_sink.stop()
    await notification_app.consume(booking_confirmed())
    assert await notification_app.deliver() == 1
    notification_app.clock.advance(timedelta(hours=23, minutes=59))
    assert await notification_app.deliver() == 1
    [delivery] = await notification_app.deliveries()
    assert delivery.state == "failed_retrying"

    notification_app.clock.advance(timedelta(minutes=31))
    assert await notification_app.deliver() == 1
    [delivery] = await notification_app.deliveries()
    assert (delivery.state, delivery.next_attempt_at) == ("dead", None)
    metrics = (await notification_app.client.get("/metrics")).text
    assert 'notification_deliveries_dead_total{channel="email",kind="booking_confirmed"} 1.0' in metrics
    notification_app.clock.advance(timedelta(days=3))
    assert await notification_app.deliver() == 0

    resend = f"/admin/notifications/deliveries/{delivery.id}/resend"
    traveler = await notification_app.client.post(resend, headers=notification_app.as_(make_identity("traveler")))
    assert traveler.status_code == 403
    admin = notification_app.as_(make_identity("admin"))
    resent = await notification_app.client.post(resend, headers=admin)
    assert resent.status_code == 200, resent.text
    assert (resent.json()["state"], resent.json()["attempts"]) == ("pending", 0)
    again = await notification_app.client.post(resend, headers=admin)
    assert (again.status_code, again.json()["error_code"]) == (409, "CONFLICT")
    unknown = await notification_app.client.post(
        "/admin/notifications/deliveries/00000000-0000-0000-0000-000000000000/resend", headers=admin
    )
    assert unknown.status_code == 404

    smtp_sink.start()
    assert await notification_app.deliver() == 1
    [delivery] = await notification_app.deliveries()
    assert (delivery.state, delivery.attempts) == ("sent", 1)
    assert len(smtp_sink.received(delivery.idempotency_key)) == 1


async def test_a_worker_dying_after_sending_leaves_a_resend_with_the_same_message_id_and_the_sink_keeps_one(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    await notification_app.consume(booking_confirmed())
    policy = notification_app.settings.delivery_policy()
    # The first worker claims the delivery, hands it to SMTP, and dies before recording it.
    [claim] = await claim_due_deliveries(
        notification_app.sessions, now=notification_app.clock.now(), lease=policy.lease, limit=10
    )
    await SmtpSender(notification_app.settings).send(claim.message)
    assert len(smtp_sink.store.messages) == 1

    # Its lease holds the delivery until it ends.
    notification_app.clock.advance(policy.lease - timedelta(seconds=1))
    assert await notification_app.deliver() == 0
    notification_app.clock.advance(timedelta(seconds=1))
    assert await notification_app.deliver() == 1

    [delivery] = await notification_app.deliveries()
    assert (delivery.state, delivery.attempts) == ("sent", 2)
    assert smtp_sink.store.duplicates_dropped == 1
    [kept] = smtp_sink.store.messages
    assert kept["message_id"] == claim.message.idempotency_key == delivery.idempotency_key

    # The first worker, were it only slow, records nothing over the outcome of the one after it.
    await record_sent(notification_app.sessions, claim=claim, provider_message_id="stale", clock=notification_app.clock)
    await record_failure(
        notification_app.sessions,
        claim=claim,
        error=OSError("stale"),
        clock=notification_app.clock,
        schedule=policy.schedule,
        metrics=notification_app.metrics,
        rng=notification_app.rng,
    )
    [delivery] = await notification_app.deliveries()
    assert (delivery.state, delivery.provider_message_id) == ("sent", claim.message.idempotency_key)


async def test_two_worker_replicas_claim_and_send_each_delivery_once(
    notification_app: NotificationApp, smtp_sink: SmtpSink, database_url: str
) -> None:
    events = [booking_confirmed(email=f"traveler-{number}@example.com") for number in range(40)]
    await notification_app.consume(*events)
    other_engine = create_engine(database_url=database_url, schema="notification")
    other_replica = create_session_factory(other_engine)

    async def drain(replica: str) -> int:
        sessions = other_replica if replica == "b" else notification_app.sessions
        claimed = 0
        while taken := await notification_app.deliver(sessions):
            claimed += taken
        return claimed

    try:
        by_a, by_b = await asyncio.gather(drain("a"), drain("b"))
    finally:
        await other_engine.dispose()

    assert by_a + by_b == 40
    deliveries = await notification_app.deliveries()
    assert {(delivery.state, delivery.attempts) for delivery in deliveries} == {("sent", 1)}
    assert len(smtp_sink.store.messages) == 40
    assert smtp_sink.store.duplicates_dropped == 0
    assert sorted(message["rcpt_tos"][0] for message in smtp_sink.store.messages) == sorted(
        f"traveler-{number}@example.com" for number in range(40)
    )


async def test_a_nul_character_in_the_events_text_does_not_stop_the_notification(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    confirmed = booking_confirmed(title="Sunset\x00kayak tour")
    await notification_app.consume(confirmed)

    [notification] = await notification_app.notifications()
    assert notification.title.count("\x00") == 0
    assert "Sunsetkayak tour" in notification.facts["listing_title"]
    [delivery] = await notification_app.deliveries()
    assert await notification_app.deliver() == 1
    assert len(smtp_sink.received(delivery.idempotency_key)) == 1
