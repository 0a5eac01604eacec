"""The provider's daily manifest as it goes out, on a frozen clock moved forward: one email (and
in-app item) per provider and day once 18:00 has passed where the listing is, never before,
listing the day's bookings still standing with each start on the listing's clock, told once
however many runs or replicas of the job, and readable whatever the listings' titles hold."""

import asyncio
import email
import uuid
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notification.directory.service import apply_account_changed
from services.notification.inapp.models import InAppNotification
from services.notification.manifests.models import ProviderManifest
from services.notification.manifests.service import send_due_manifests
from services.notification.notifications.models import Notification
from services.notification.tests.conftest import NotificationApp, SmtpSink, booking_confirmed, running_notification
from shared.contracts.booking import BookingCancelled, BookingConfirmed
from shared.contracts.identity import AccountChanged
from shared.db import create_engine, create_session_factory
from shared.events.envelope import EventEnvelope

# The bookings' day in Lisbon (UTC+1 in May): its manifest is due from 18:00 the evening before.
DAY_STARTS = datetime(2031, 5, 10, 0, 0, tzinfo=UTC) - timedelta(hours=1)
DUE_AT = datetime(2031, 5, 9, 17, 0, tzinfo=UTC)


async def _known_provider(app: NotificationApp, *, locale: str = "en") -> tuple[uuid.UUID, str]:
    provider_id = uuid.uuid4()
    address = f"provider-{provider_id.hex[:12]}@example.com"
    account = AccountChanged(
        user_id=provider_id,
        email=address,
        name="Rio Kayaks",
        roles=["provider"],
        locale=locale,
        email_verified=True,
        changed_at=datetime(2031, 1, 1, tzinfo=UTC),
    )
    async with app.sessions.begin() as session:
        await apply_account_changed(session, account)
    return provider_id, address


def _booking(
    provider_id: uuid.UUID, *, local_hour: int, day_offset: int = 0, title: str = "Sunset kayak tour", **changes: object
) -> EventEnvelope:
    booking = BookingConfirmed.model_validate(booking_confirmed(title=title).payload)
    starts_at = DAY_STARTS + timedelta(days=day_offset, hours=local_hour)
    booking = booking.model_copy(
        update={
            "provider_id": provider_id,
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(hours=2),
            **changes,
        }
    )
    return EventEnvelope.wrap(booking, producer="booking", key=str(booking.booking_id))


def _cancellation(confirmed: EventEnvelope) -> EventEnvelope:
    booking = BookingConfirmed.model_validate(confirmed.payload)
    cancelled = BookingCancelled(
        **booking.model_dump(exclude={"category", "total", "platform_fee", "confirmed_at"}),
        cancelled_by="traveler",
        reason="Plans changed",
        was_confirmed=True,
        was_paid=True,
        refund=booking.total,
        credit=0,
        cancelled_at=booking.confirmed_at + timedelta(days=1),
    )
    return EventEnvelope.wrap(cancelled, producer="booking", key=str(booking.booking_id))


def _reference(envelope: EventEnvelope) -> str:
    return str(envelope.payload["reference"])


async def _send(app: NotificationApp, sessions: async_sessionmaker[AsyncSession] | None = None) -> int:
    """One run of the manifest job (of another replica when given its sessions)."""
    return await send_due_manifests(
        sessions or app.sessions, now=app.clock.now(), settings=app.settings, redis=app.redis
    )


def _emails_to(smtp_sink: SmtpSink, address: str) -> list[EmailMessage]:
    """The manifests the address received (a provider is also told of each booking as it comes)."""
    received = [
        email.message_from_bytes(message["raw"].encode(), _class=EmailMessage, policy=policy.default)
        for message in smtp_sink.store.messages
        if address in message["rcpt_tos"]
    ]
    return [message for message in received if str(message["Subject"]).startswith("Your bookings for ")]


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def _html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


async def _drain(app: NotificationApp) -> None:
    while await app.deliver():
        pass


async def test_the_manifest_arrives_once_after_six_in_the_evening_local_time_with_the_days_bookings(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    provider_id, address = await _known_provider(notification_app)
    morning = _booking(provider_id, local_hour=10, seats=3, contact_name="Ana")
    afternoon = _booking(provider_id, local_hour=15, contact_name="Bea")
    next_day = _booking(provider_id, local_hour=10, day_offset=1)
    await notification_app.consume(afternoon, morning, next_day)

    notification_app.clock.advance(DUE_AT - notification_app.clock.now() - timedelta(microseconds=1))
    await _send(notification_app)
    await _drain(notification_app)
    assert _emails_to(smtp_sink, address) == []

    notification_app.clock.advance(timedelta(microseconds=1))
    await _send(notification_app)
    await _drain(notification_app)
    [manifest] = _emails_to(smtp_sink, address)
    assert manifest["Subject"] == "Your bookings for Saturday, May 10, 2031: 2 booking(s), 5 place(s)"
    text = _text(manifest)
    assert "times in Europe/Lisbon (Western European Summer Time)" in text
    # Earliest first, each start on Lisbon's clock (CLDR puts a narrow no-break space before AM/PM).
    assert text.index(f"10:00\u202fAM  {_reference(morning)}  Sunset kayak tour") < text.index(
        f"3:00\u202fPM  {_reference(afternoon)}  Sunset kayak tour"
    )
    assert "3 place(s), Ana" in text
    assert "2 place(s), Bea" in text
    assert _reference(next_day) not in text

    # Run again later, and by the evening's next runs: nothing more.
    for _ in range(3):
        notification_app.clock.advance(timedelta(hours=1))
        await _send(notification_app)
    await _drain(notification_app)
    assert len(_emails_to(smtp_sink, address)) == 1
    async with notification_app.sessions() as session:
        kinds = (
            await session.scalars(
                select(Notification.kind)
                .join(InAppNotification, InAppNotification.notification_id == Notification.id)
                .where(InAppNotification.user_id == provider_id)
                .order_by(Notification.created_at)
            )
        ).all()
    # Each booking as it came, then the one manifest.
    assert kinds == ["provider_booking_received"] * 3 + ["provider_daily_manifest"]


async def test_a_booking_cancelled_before_the_evening_is_not_on_the_manifest(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    provider_id, address = await _known_provider(notification_app)
    kept = _booking(provider_id, local_hour=9)
    cancelled = _booking(provider_id, local_hour=11)
    await notification_app.consume(kept, cancelled, _cancellation(cancelled))

    notification_app.clock.advance(DUE_AT - notification_app.clock.now())
    await _send(notification_app)
    await _drain(notification_app)

    [manifest] = _emails_to(smtp_sink, address)
    assert _reference(kept) in _text(manifest)
    assert _reference(cancelled) not in _text(manifest)
    assert _reference(cancelled) not in _html(manifest)


async def test_two_replicas_of_the_job_send_each_providers_manifest_once(
    notification_app: NotificationApp, smtp_sink: SmtpSink, database_url: str
) -> None:
    providers = [await _known_provider(notification_app) for _ in range(5)]
    await notification_app.consume(*(_booking(provider_id, local_hour=10) for provider_id, _ in providers))
    notification_app.clock.advance(DUE_AT - notification_app.clock.now())
    other_engine = create_engine(database_url=database_url, schema="notification")
    other_replica = create_session_factory(other_engine)
    try:
        await asyncio.gather(
            *(_send(notification_app, sessions) for sessions in [notification_app.sessions, other_replica] * 3)
        )
    finally:
        await other_engine.dispose()
    await _drain(notification_app)

    for _, address in providers:
        assert len(_emails_to(smtp_sink, address)) == 1
    ids = [provider_id for provider_id, _ in providers]
    async with notification_app.sessions() as session:
        told = (
            await session.scalars(
                select(Notification.recipient_user_id).where(
                    Notification.kind == "provider_daily_manifest", Notification.recipient_user_id.in_(ids)
                )
            )
        ).all()
    assert sorted(map(str, told)) == sorted(map(str, ids))


async def test_unicode_markup_and_long_titles_show_as_text_in_the_providers_language(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    provider_id, address = await _known_provider(notification_app, locale="de")
    title = "Kajak 🛶 <script>alert(1)</script> & رحلة الغروب — " + "sehr lange Tour " * 30
    await notification_app.consume(
        _booking(provider_id, local_hour=10, title=title, contact_name="Zoë\nO'Brien <zoe@example.com>")
    )
    notification_app.clock.advance(DUE_AT - notification_app.clock.now())
    await _send(notification_app)
    await _drain(notification_app)

    [manifest] = _emails_to(smtp_sink, address)
    assert manifest["Subject"] == "Your bookings for Samstag, 10. Mai 2031: 1 booking(s), 2 place(s)"
    text, html = _text(manifest), _html(manifest)
    assert title.strip() in text
    assert "Zoë O'Brien <zoe@example.com>" in text
    assert "<script>" not in html
    assert "Kajak 🛶 &lt;script&gt;alert(1)&lt;/script&gt; &amp; رحلة الغروب" in html
    assert "Zoë O&#39;Brien &lt;zoe@example.com&gt;" in html
    assert "10:00" in html
    assert 'lang="de"' in html


async def test_a_provider_the_directory_does_not_know_has_the_manifest_written_and_is_told_nothing(
    notification_app: NotificationApp,
) -> None:
    provider_id = uuid.uuid4()
    await notification_app.consume(_booking(provider_id, local_hour=10))
    notification_app.clock.advance(DUE_AT - notification_app.clock.now())

    await _send(notification_app)
    notification_app.clock.advance(timedelta(minutes=5))
    await _send(notification_app)

    async with notification_app.sessions() as session:
        manifests = (
            await session.scalars(select(ProviderManifest).where(ProviderManifest.provider_id == provider_id))
        ).all()
        told = (await session.scalars(select(Notification).where(Notification.recipient_user_id == provider_id))).all()
    assert len(manifests) == 1
    assert told == []


async def test_the_running_app_sends_the_manifest_on_its_own_once_it_is_due(
    database_url: str, redis_url: str, bootstrap_servers: str, smtp_sink: SmtpSink
) -> None:
    async with running_notification(
        database_url,
        redis_url,
        bootstrap_servers,
        smtp_sink.port,
        starts_at=DUE_AT,
        settings_changes={"delivery_worker_enabled": True, "manifest_interval_seconds": 0.05},
    ) as app:
        provider_id, address = await _known_provider(app)
        booking = _booking(provider_id, local_hour=10)
        await app.consume(booking)
        async with asyncio.timeout(10):
            while not _emails_to(smtp_sink, address):
                await asyncio.sleep(0.05)
    [manifest] = _emails_to(smtp_sink, address)
    assert _reference(booking) in _text(manifest)
