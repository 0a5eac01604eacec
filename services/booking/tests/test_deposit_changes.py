"""Changes of deposit bookings against the real database, on a frozen clock, with inventory's
and payment's internal APIs stood in for: a cheaper party refunds the deposit's share and the
balance job charges the new balance, not the old (and paying early asks for the new one);
a dearer one charges the deposit's share of
the difference now and the job the rest; after a failed balance attempt a cheaper
change lowers the balance the retry charges, refunding nothing; a charge of the old balance
already on its way counts up to the new one and the rest goes back."""

import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from services.booking.balances.consumers import balances_consumer
from services.booking.balances.service import charge_due_balances, pay_balance
from services.booking.bookings.models import Booking
from services.booking.history.service import Origin
from services.booking.modifications.consumers import modifications_consumer
from services.booking.modifications.models import BookingModification
from services.booking.modifications.schemas import ModificationRequest
from services.booking.modifications.service import request_modification
from services.booking.tests.conftest import BookingApp, answer, intent_for, upstream_pools
from shared.contracts.inventory import SeatsConfirmed
from shared.contracts.inventory_api import CancellationPolicy, Hold, HoldDetails, HoldPlacement, Quote
from shared.contracts.payment import PaymentFailed, PaymentSucceeded
from shared.contracts.payment_api import PaymentIntentRequest
from shared.events.consumer import ConsumerSpec
from shared.events.envelope import EventEnvelope, EventPayload
from shared.events.models import OutboxMessage
from shared.identity import Identity
from shared.testing import make_identity

DAY = timedelta(days=1)
PER_PERSON = Decimal("44.00")


@dataclass
class StandIns:
    """Inventory's holds (re-priced at 44.00 a person) and payment's intents, as booking calls them."""

    booking: Booking
    holds: dict[str, HoldDetails] = field(default_factory=dict)
    intents_asked: list[dict[str, Any]] = field(default_factory=list)

    def inventory(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            placement = HoldPlacement.model_validate_json(request.content)
            seats = placement.adults + placement.children
            total = PER_PERSON * seats
            hold = HoldDetails(
                id=uuid.uuid4(),
                slot_id=placement.slot_id,
                listing_id=self.booking.listing_id,
                adults=placement.adults,
                children=placement.children,
                infants=placement.infants,
                seats=seats,
                status="active",
                expires_at=self.booking.created_at + timedelta(days=400),
                quote=Quote(subtotal=total, taxes=Decimal(0), total=total, currency="EUR", lines=[]),
                provider_id=self.booking.provider_id,
                listing_title=self.booking.listing_title,
                category=self.booking.category,
                timezone=self.booking.timezone,
                starts_at=self.booking.starts_at,
                ends_at=self.booking.ends_at,
                cancellation_policy=CancellationPolicy(),
            )
            self.holds[str(hold.id)] = hold
            return answer(201, Hold.model_validate(hold.model_dump()))
        if request.method == "GET":
            return answer(200, self.holds[request.url.path.rsplit("/", 1)[1]])
        return httpx.Response(204)

    def payment(self, request: httpx.Request) -> httpx.Response:
        self.intents_asked.append(json.loads(request.content))
        return answer(201, intent_for(PaymentIntentRequest.model_validate_json(request.content)))


@pytest.fixture
async def deposit_booking(booking_app: BookingApp) -> tuple[Booking, Identity]:
    """A party of two at 88.00 a month out: 26.40 paid, 61.60 due 14 days before the slot."""
    traveler = make_identity("traveler")
    starts_at = booking_app.clock.now() + 30 * DAY
    booking = await booking_app.add_booking(
        traveler=traveler,
        provider=make_identity("provider"),
        starts_in=30 * DAY,
        payment_option="deposit",
        amount_due_now=Decimal("26.40"),
        balance_amount=Decimal("61.60"),
        balance_due_at=starts_at - 14 * DAY,
        balance_next_attempt_at=starts_at - 14 * DAY,
        created_at=booking_app.clock.now(),
    )
    return booking, traveler


async def _change_party(
    app: BookingApp, booking: Booking, traveler: Identity, stand_ins: StandIns, *, adults: int
) -> BookingModification:
    """The traveler asks for another party, pays what the change charges now if anything, and
    inventory sells the new seats: the change is applied."""
    async with (
        upstream_pools(inventory=stand_ins.inventory, payment=stand_ins.payment) as pools,
        app.sessions() as session,
    ):
        modification = await request_modification(
            session,
            booking_id=booking.id,
            traveler=traveler,
            origin=Origin(),
            request=ModificationRequest(adults=adults),
            upstreams=pools.acting_for(traveler),
            deposit_terms=app.settings.deposit_terms(),
            clock=app.clock,
        )
    if modification.charge > 0:
        assert modification.status == "pending_payment"
        assert modification.payment_intent_id is not None
        paid = _paid(booking, modification.payment_purpose, str(modification.charge)).model_copy(
            update={"payment_intent_id": modification.payment_intent_id}
        )
        await _deliver(app, modifications_consumer(app.clock, app.settings.deposit_terms()), paid, producer="payment")
    else:
        assert modification.status == "confirming"
    sold = SeatsConfirmed(
        booking_id=booking.id,
        hold_id=modification.new_hold_id,
        slot_id=modification.new_slot_id,
        listing_id=booking.listing_id,
        seats=modification.new_seats,
        late=False,
    )
    await _deliver(app, modifications_consumer(app.clock, app.settings.deposit_terms()), sold, producer="inventory")
    return modification


async def _deliver(app: BookingApp, consumer: ConsumerSpec, event: EventPayload, *, producer: str) -> None:
    async with app.sessions() as session, session.begin():
        await consumer.handlers[(event.event_type, event.event_version)](
            session, EventEnvelope.wrap(event, producer=producer, key="b")
        )


async def _deliver_to_balances(app: BookingApp, event: EventPayload) -> None:
    await _deliver(app, balances_consumer(app.clock, app.settings.balance_schedule()), event, producer="payment")


async def _run_balance_job(app: BookingApp, stand_ins: StandIns, booking: Booking) -> list[tuple[str, str]]:
    """The purposes and amounts of the balance charges the job asks payment for, for this booking."""
    before = len(stand_ins.intents_asked)
    async with upstream_pools(payment=stand_ins.payment) as pools:
        await charge_due_balances(
            app.sessions,
            clock=app.clock,
            upstreams=pools,
            schedule=app.settings.balance_schedule(),
        )
    return [
        (asked["purpose"], asked["amount"])
        for asked in stand_ins.intents_asked[before:]
        if asked["booking_id"] == str(booking.id)
    ]


async def _ask_to_pay_early(
    app: BookingApp, stand_ins: StandIns, booking: Booking, traveler: Identity
) -> tuple[str, str]:
    """POST /bookings/{id}/pay-balance: the purpose and amount of the intent asked for."""
    async with upstream_pools(payment=stand_ins.payment) as pools, app.sessions() as session:
        await pay_balance(session, booking_id=booking.id, traveler=traveler, payment=pools.acting_for(traveler).payment)
    asked = stand_ins.intents_asked[-1]
    return asked["purpose"], asked["amount"]


async def _read(app: BookingApp, booking_id: UUID) -> Booking:
    async with app.sessions() as session:
        return await session.get_one(Booking, booking_id)


async def _refunds(app: BookingApp, booking_id: UUID) -> list[tuple[str, str]]:
    async with app.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.key == str(booking_id), OutboxMessage.event_type == "booking.refund_requested"
            )
        )
        return [(row.envelope["payload"]["amount"], row.envelope["payload"]["reason"]) for row in rows]


def _paid(booking: Booking, purpose: str, amount: str) -> PaymentSucceeded:
    return PaymentSucceeded(
        booking_id=booking.id,
        payment_intent_id=f"pi_{purpose}",
        purpose=purpose,
        amount=Decimal(amount),
        platform_fee=Decimal(amount) / 10,
        currency="EUR",
    )


async def test_a_cheaper_party_on_a_deposit_booking_refunds_the_deposits_share_and_the_job_charges_the_new_balance(
    booking_app: BookingApp, deposit_booking: tuple[Booking, Identity]
) -> None:
    booking, traveler = deposit_booking
    stand_ins = StandIns(booking)
    assert await _ask_to_pay_early(booking_app, stand_ins, booking, traveler) == ("balance", "61.60")

    modification = await _change_party(booking_app, booking, traveler, stand_ins, adults=1)

    # Paying early now is another intent, for the new balance.
    assert await _ask_to_pay_early(booking_app, stand_ins, booking, traveler) == ("balance-early-1", "30.80")
    stand_ins.intents_asked.clear()
    assert (modification.charge, modification.refund, modification.balance) == (
        Decimal("0"),
        Decimal("13.20"),
        Decimal("30.80"),
    )
    changed = await _read(booking_app, booking.id)
    assert (changed.total, changed.amount_due_now, changed.amount_paid, changed.balance_amount) == (
        Decimal("44.00"),
        Decimal("13.20"),
        Decimal("13.20"),
        Decimal("30.80"),
    )
    assert changed.balance_due_at == booking.balance_due_at
    assert await _refunds(booking_app, booking.id) == [("13.20", "change-1")]

    booking_app.clock.advance(16 * DAY)
    assert await _run_balance_job(booking_app, stand_ins, booking) == [("balance-1", "30.80")]
    await _deliver_to_balances(booking_app, _paid(booking, "balance-1", "30.80"))
    paid = await _read(booking_app, booking.id)
    assert (paid.balance_paid_at, paid.amount_paid, paid.total) == (
        booking_app.clock.now(),
        Decimal("44.00"),
        Decimal("44.00"),
    )


async def test_a_dearer_party_on_a_deposit_booking_pays_the_deposits_share_now_and_the_job_charges_the_rest(
    booking_app: BookingApp, deposit_booking: tuple[Booking, Identity]
) -> None:
    booking, traveler = deposit_booking
    stand_ins = StandIns(booking)

    modification = await _change_party(booking_app, booking, traveler, stand_ins, adults=3)

    [intent] = stand_ins.intents_asked
    assert (intent["purpose"], intent["amount"]) == ("change-1", "13.20")
    async with booking_app.sessions() as session:
        assert (await session.get_one(BookingModification, modification.id)).status == "applied"
    changed = await _read(booking_app, booking.id)
    assert (changed.total, changed.amount_paid, changed.balance_amount) == (
        Decimal("132.00"),
        Decimal("39.60"),
        Decimal("92.40"),
    )
    assert await _refunds(booking_app, booking.id) == []
    booking_app.clock.advance(16 * DAY)
    assert await _run_balance_job(booking_app, stand_ins, booking) == [("balance-1", "92.40")]


async def test_after_a_failed_balance_attempt_a_cheaper_change_lowers_the_balance_the_retry_charges(
    booking_app: BookingApp, deposit_booking: tuple[Booking, Identity]
) -> None:
    booking, traveler = deposit_booking
    stand_ins = StandIns(booking)
    booking_app.clock.advance(16 * DAY)
    assert await _run_balance_job(booking_app, stand_ins, booking) == [("balance-1", "61.60")]
    failed = PaymentFailed(
        booking_id=booking.id, payment_intent_id="pi_balance-1", reason="card_declined", purpose="balance-1"
    )
    await _deliver_to_balances(booking_app, failed)

    modification = await _change_party(booking_app, booking, traveler, stand_ins, adults=1)

    # Inside the balance window: the balance shrinks first, nothing goes back.
    assert (modification.refund, modification.balance) == (Decimal("0"), Decimal("17.60"))
    assert await _refunds(booking_app, booking.id) == []
    changed = await _read(booking_app, booking.id)
    assert (changed.amount_due_now, changed.balance_amount, changed.balance_attempts) == (
        Decimal("26.40"),
        Decimal("17.60"),
        1,
    )
    assert await _run_balance_job(booking_app, stand_ins, booking) == []  # the retry keeps its time
    booking_app.clock.advance(DAY)
    assert await _run_balance_job(booking_app, stand_ins, booking) == [("balance-2", "17.60")]


async def test_a_charge_of_the_old_balance_landing_after_a_cheaper_change_counts_what_is_owed_and_the_rest_goes_back(
    booking_app: BookingApp, deposit_booking: tuple[Booking, Identity]
) -> None:
    booking, traveler = deposit_booking
    stand_ins = StandIns(booking)
    booking_app.clock.advance(16 * DAY)
    assert await _run_balance_job(booking_app, stand_ins, booking) == [("balance-1", "61.60")]

    await _change_party(booking_app, booking, traveler, stand_ins, adults=1)
    await _deliver_to_balances(booking_app, _paid(booking, "balance-1", "61.60"))

    settled = await _read(booking_app, booking.id)
    assert (settled.amount_paid, settled.total, settled.balance_paid_at) == (
        Decimal("44.00"),
        Decimal("44.00"),
        booking_app.clock.now(),
    )
    assert await _refunds(booking_app, booking.id) == [("44.00", "balance_not_owed:pi_balance-1")]


async def test_a_change_shows_its_new_slot_in_the_listings_zone_and_local_time(
    booking_app: BookingApp, deposit_booking: tuple[Booking, Identity]
) -> None:
    booking, traveler = deposit_booking
    await _change_party(booking_app, booking, traveler, StandIns(booking), adults=1)

    listed = await booking_app.client.get(f"/bookings/{booking.id}/modifications", headers=booking_app.as_(traveler))

    change = listed.json()["items"][0]
    # 09:00 UTC on 3 June 2031 is 10:00 in Lisbon, on summer time (UTC+01:00).
    assert (change["timezone"], change["local_starts_at"], change["local_ends_at"]) == (
        "Europe/Lisbon",
        "2031-06-03T10:00:00+01:00",
        "2031-06-03T12:00:00+01:00",
    )
