"""Phone numbers for SMS: whatever a person typed, read with `phonenumbers` into E.164 (`+` and
up to 15 digits, what Twilio takes), or refused."""

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """Not a number any SMS could reach: unparsable, impossible, or not assigned in its plan."""


# Longer than any number written out, with spaces and a prefix: refused before parsing.
MAX_TYPED_LENGTH = 64


def to_e164(typed: str, *, default_region: str) -> str:
    """`typed` in E.164. A number without its country code (`+351`, `00351`) is read in
    `default_region` (ISO 3166 alpha-2); a number with an extension is refused, as no SMS
    reaches an extension."""
    if len(typed) > MAX_TYPED_LENGTH:
        raise InvalidPhoneNumber("A phone number is at most 64 characters long.")
    try:
        number = phonenumbers.parse(typed, default_region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumber(f"Not a phone number: {error}.") from error
    if number.extension:
        raise InvalidPhoneNumber("A phone number with an extension cannot receive SMS.")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("Not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
