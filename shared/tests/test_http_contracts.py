"""The HTTP shapes between services are read tolerantly: an upstream that adds a field (a hold's
meeting point, say) before its readers know it still answers in the contract."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from shared.contracts.inventory_api import HoldDetails, OpenSlots, SlotForRequest
from shared.contracts.payment_api import PaymentIntent

STARTS_AT = datetime(2031, 5, 5, 8, 0, tzinfo=UTC)
ADDED_LATER = {"meeting_point": "Pier 4", "step_free_access": True}
QUOTE = {"subtotal": "80.00", "taxes": "8.00", "total": "88.00", "currency": "EUR", "lines": [], "rounding": "half"}


def _hold() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "slot_id": str(uuid.uuid4()),
        "listing_id": str(uuid.uuid4()),
        "adults": 2,
        "children": 0,
        "infants": 0,
        "seats": 2,
        "status": "active",
        "expires_at": STARTS_AT.isoformat(),
        "quote": QUOTE,
        "provider_id": str(uuid.uuid4()),
        "listing_title": "Sunset kayak tour",
        "category": "tour",
        "timezone": "Europe/Lisbon",
        "starts_at": STARTS_AT.isoformat(),
        "ends_at": STARTS_AT.replace(hour=10).isoformat(),
        "cancellation_policy": {"tiers": [{"min_days_before": 3, "refund_percent": "100", "note": "new"}]},
    }


def test_a_hold_with_fields_its_reader_does_not_know_is_read_as_the_contract_has_it() -> None:
    sent = _hold()
    hold = HoldDetails.model_validate(sent | ADDED_LATER)
    assert hold == HoldDetails.model_validate(sent)
    assert (str(hold.id), hold.timezone, hold.quote.total) == (sent["id"], "Europe/Lisbon", Decimal("88.00"))
    assert hold.cancellation_policy.tiers[0].min_days_before == 3
    assert hold.model_dump(mode="json")["local_starts_at"] == "2031-05-05T09:00:00+01:00", "derived from UTC and zone"


def test_slots_with_fields_their_reader_does_not_know_are_read_by_their_wire_names() -> None:
    slot_id = uuid.uuid4()
    open_slots = OpenSlots.model_validate(
        {
            "listing_id": str(uuid.uuid4()),
            "from": "2031-05-05",
            "to": "2031-05-06",
            "party_size": 2,
            "slots": [
                {
                    "slot_id": str(slot_id),
                    "date": "2031-05-05",
                    "start_time": "09:00",
                    "end_time": "11:00",
                    "capacity": 10,
                    "available": 4,
                    "price": {"amount": "40.00", "currency": "EUR"},
                    "timezone": "Europe/Lisbon",
                    "starts_at": STARTS_AT.isoformat(),
                    "ends_at": STARTS_AT.replace(hour=10).isoformat(),
                }
                | ADDED_LATER
            ],
        }
    )
    assert (open_slots.first, open_slots.last) == (date(2031, 5, 5), date(2031, 5, 6))
    assert open_slots.model_dump(mode="json")["from"] == "2031-05-05"
    assert [(slot.slot_id, slot.available) for slot in open_slots.slots] == [(slot_id, 4)]

    slot = SlotForRequest.model_validate(
        {
            "slot_id": str(slot_id),
            "listing_id": str(uuid.uuid4()),
            "provider_id": str(uuid.uuid4()),
            "provider_email": None,
            "listing_title": "Private cooking class",
            "category": "meal",
            "booking_mode": "request",
            "timezone": "Europe/Lisbon",
            "currency": "EUR",
            "date": "2031-05-05",
            "start_time": "09:00",
            "starts_at": STARTS_AT.isoformat(),
            "ends_at": STARTS_AT.replace(hour=10).isoformat(),
            "on_sale": True,
            "available": 4,
            "price": {"quote": QUOTE, "estimate": None},
            "max_party_size": 6,
        }
        | ADDED_LATER
    )
    assert slot.price.quote is not None
    assert slot.price.quote.total == Decimal("88.00")


def test_an_intent_with_fields_its_reader_does_not_know_is_read_as_the_contract_has_it() -> None:
    intent = PaymentIntent.model_validate(
        {
            "id": str(uuid.uuid4()),
            "booking_id": str(uuid.uuid4()),
            "purpose": "full",
            "payment_intent_id": "pi_1",
            "client_secret": "pi_1_secret",
            "amount": "88.00",
            "currency": "EUR",
            "status": "requires_payment_method",
            "platform_fee": "8.80",
            "credit_amount": "0.00",
            "card_amount": "88.00",
            "captured_at": None,
        }
    )
    assert (intent.payment_intent_id, intent.card_amount) == ("pi_1", Decimal("88.00"))
