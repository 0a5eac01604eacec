"""The contracts' checked-in schemas, and the check that tells a compatible change from a breaking one."""

import copy
from decimal import Decimal
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from shared.contracts.compatibility import breaking_changes
from shared.contracts.snapshot import current_schemas, differences, snapshot_schemas


def test_every_contract_matches_its_checked_in_snapshot() -> None:
    found = differences(snapshot_schemas(), current_schemas())
    assert found.breaking == [], "a contract changed incompatibly: raise its version instead"
    assert found.unrecorded == [], "run `python -m shared.contracts.snapshot --write` and commit the snapshot"


def test_a_field_removed_from_a_published_event_fails_the_snapshot_check() -> None:
    current = current_schemas()
    changed = copy.deepcopy(current)
    confirmed = changed["booking"]["booking.confirmed v1"]
    del confirmed["properties"]["contact_email"]
    confirmed["required"].remove("contact_email")

    found = differences(current, changed)
    assert found.breaking == ["booking: booking.confirmed v1 $.contact_email: removed"]


def test_a_new_version_beside_the_old_is_recorded_not_breaking() -> None:
    current = current_schemas()
    changed = copy.deepcopy(current)
    changed["booking"]["booking.confirmed v2"] = changed["booking"]["booking.confirmed v1"]

    found = differences(current, changed)
    assert found.breaking == []
    assert found.unrecorded == ["booking: booking.confirmed v2 is new"]


def test_a_contract_gone_from_the_code_is_breaking() -> None:
    current = current_schemas()
    changed = copy.deepcopy(current)
    del changed["payment"]["payment.refunded v1"]

    assert differences(current, changed).breaking == [
        "payment: payment.refunded v1 was removed (readers may still meet it)"
    ]


class Party(BaseModel):
    adults: int
    children: int = 0


class Booked(BaseModel):
    reference: str
    seats: int
    channel: Literal["web", "app"]
    party: Party
    note: str | None = None


class BookedWithOptionalField(Booked):
    coupon: str | None = None


class BookedWithRequiredField(Booked):
    coupon: str


class BookedWithoutNote(BaseModel):
    reference: str
    seats: int
    channel: Literal["web", "app"]
    party: Party


class BookedWithSeatsAsText(BaseModel):
    reference: str
    seats: str
    channel: Literal["web", "app"]
    party: Party
    note: str | None = None


class BookedFromTheWebOnly(BaseModel):
    reference: str
    seats: int
    channel: Literal["web"]
    party: Party
    note: str | None = None


class BookedFromMoreChannels(BaseModel):
    reference: str
    seats: int
    channel: Literal["web", "app", "phone"]
    party: Party
    note: str | None = None


class BookedWithRequiredNote(BaseModel):
    reference: str
    seats: int
    channel: Literal["web", "app"]
    party: Party
    note: str


class BookedWithNullableSeats(BaseModel):
    reference: str
    seats: int | None
    channel: Literal["web", "app"]
    party: Party
    note: str | None = None


class BookedWithAtMostNineSeats(BaseModel):
    reference: str
    seats: int = Field(le=9)
    channel: Literal["web", "app"]
    party: Party
    note: str | None = None


class PartyWithoutChildren(BaseModel):
    adults: int


class BookedWithSmallerParty(BaseModel):
    reference: str
    seats: int
    channel: Literal["web", "app"]
    party: PartyWithoutChildren
    note: str | None = None


class BookedDocumented(BaseModel):
    """Documented: titles and descriptions say more, nothing else changed."""

    reference: str = Field(description="The booking's reference, for people")
    seats: int = Field(title="Seats booked")
    channel: Literal["web", "app"]
    party: Party
    note: str | None = Field(default=None, description="The traveler's note")


class Priced(BaseModel):
    total: Decimal


@pytest.mark.parametrize(
    "new",
    [Booked, BookedWithOptionalField, BookedFromMoreChannels, BookedDocumented],
    ids=["unchanged", "optional field added", "enum widened", "documentation changed"],
)
def test_compatible_changes_are_allowed(new: type[BaseModel]) -> None:
    assert breaking_changes(Booked.model_json_schema(), new.model_json_schema()) == []


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (BookedWithRequiredField, ["$.coupon: new field is required (give it a default)"]),
        (BookedWithoutNote, ["$.note: removed"]),
        (BookedWithSeatsAsText, ["$.seats: type changed from integer to string"]),
        (BookedFromTheWebOnly, ["$.channel: enum no longer allows ['app']"]),
        (BookedWithRequiredNote, ["$.note: became required", "$.note: no longer accepts null"]),
        (BookedWithNullableSeats, ["$.seats: now also sends null"]),
        (BookedWithAtMostNineSeats, ["$.seats: new bound maximum=9"]),
        (BookedWithSmallerParty, ["$.party.children: removed"]),
    ],
    ids=[
        "required field added",
        "field removed",
        "type changed",
        "enum narrowed",
        "field made required",
        "field made nullable",
        "bound added",
        "nested field removed",
    ],
)
def test_breaking_changes_are_named_where_they_are(new: type[BaseModel], expected: list[str]) -> None:
    assert breaking_changes(Booked.model_json_schema(), new.model_json_schema()) == expected


def test_an_unchanged_decimal_with_its_alternatives_is_compatible() -> None:
    assert breaking_changes(Priced.model_json_schema(), Priced.model_json_schema()) == []
