"""Phone numbers as people type them become E.164, or are refused: never anything else."""

import re

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notification.sms.phones import InvalidPhoneNumber, to_e164

E164 = re.compile(r"\+[1-9][0-9]{1,14}")
REGIONS = sorted(
    region
    for region in phonenumbers.SUPPORTED_REGIONS
    if phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE) is not None
)
FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.RFC3966,
]


def _example_mobile(region: str) -> phonenumbers.PhoneNumber:
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert number is not None
    return number


@given(region=st.sampled_from(REGIONS), written=st.sampled_from(FORMATS), default_region=st.sampled_from(REGIONS))
def test_a_mobile_number_written_internationally_reads_the_same_from_any_region(
    region: str, written: int, default_region: str
) -> None:
    number = _example_mobile(region)
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert to_e164(phonenumbers.format_number(number, written), default_region=default_region) == expected


@given(region=st.sampled_from(REGIONS))
def test_a_mobile_number_written_nationally_reads_in_its_own_region(region: str) -> None:
    number = _example_mobile(region)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert to_e164(national, default_region=region) == phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.E164
    )


@given(typed=st.text(max_size=80), default_region=st.sampled_from(["PT", "US", "GB", "DE", "BR", "JP"]))
def test_any_text_is_a_valid_e164_number_or_refused(typed: str, default_region: str) -> None:
    try:
        e164 = to_e164(typed, default_region=default_region)
    except InvalidPhoneNumber:
        return
    assert E164.fullmatch(e164)
    assert phonenumbers.is_valid_number(phonenumbers.parse(e164, None))
    assert to_e164(e164, default_region="US") == e164


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+351 912 345 678", "+351912345678"),
        ("00351 912 345 678", "+351912345678"),
        ("912 345 678", "+351912345678"),
        ("  (+351) 912-345-678 ", "+351912345678"),
        ("+44 7400 123456", "+447400123456"),
        ("tel:+1-415-555-2671", "+14155552671"),
    ],
)
def test_the_ways_people_write_a_number_read_as_one(typed: str, e164: str) -> None:
    assert to_e164(typed, default_region="PT") == e164


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "phone",
        "+351 912",
        "+1 555 123 4567",
        "+999 123 456 789",
        "+351 912 345 678 ext. 12",
        "+351 912 345 678" + " " * 60,
        "912\n345\n678\u202e",
    ],
)
def test_what_is_not_a_number_any_sms_reaches_is_refused(typed: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        to_e164(typed, default_region="PT")
