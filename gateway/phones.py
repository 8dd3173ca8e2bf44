"""Phone numbers: one canonical E.164 form for every way people write them."""

from __future__ import annotations

import phonenumbers


class PhoneError(ValueError):
    """The text is not a valid phone number of an accepted country."""


def normalize_phone(raw: str, regions: tuple[str, ...], default_region: str = "ML") -> str:
    """E.164 form of `raw` ("76 12 34 56", "0022376123456", "+223 76123456" all give
    "+22376123456"); raise PhoneError saying why when it is invalid or outside `regions`."""
    text = (raw or "").strip()
    if not text:
        raise PhoneError("phone number is empty")
    if len(text) > 32:
        raise PhoneError("phone number is too long")
    if text.startswith("00"):
        text = "+" + text[2:]
    region = default_region if default_region in regions else regions[0]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"phone number does not parse: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("phone number is not valid")
    country = phonenumbers.region_code_for_number(number)
    if country not in regions:
        raise PhoneError(f"phone numbers of {country or 'that country'} are not accepted")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
