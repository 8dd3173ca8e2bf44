"""Phone numbers: one canonical E.164 form for every way people write them."""

from __future__ import annotations

import functools

import phonenumbers
from phonenumbers import PhoneMetadata


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
    canonical = _canonical(text, regions)
    if canonical is not None:
        return canonical
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


def _canonical(text: str, regions: tuple[str, ...]) -> str | None:
    """`text` when it is already a valid E.164 number of `regions` ("+22376123456", as
    the providers send them), else None (then `phonenumbers.parse` decides, and says
    why). What parse would do with "+" and digits, without its free-text scanning (two
    thirds of a webhook's phone check): the country code is the first known one of
    one to three digits, and the rest is the national number as is, for countries
    that have no national prefix to strip and numbers with no leading zero (the two
    cases where parse could change the digits). tests/unit/test_phones.py compares
    the two on random numbers."""
    digits = text[1:]
    if not text.startswith("+") or not digits.isascii() or not digits.isdigit():
        return None
    if digits.startswith("0"):  # no country code starts with 0 ("+039..." is not Italy)
        return None
    for length in (1, 2, 3):
        if int(digits[:length]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[length:]
    if (
        not national
        or national.startswith("0")
        or not _plain_codes(regions).get(int(digits[:length]))
    ):
        return None
    number = phonenumbers.PhoneNumber(
        country_code=int(digits[:length]), national_number=int(national)
    )
    if not phonenumbers.is_valid_number(number):
        return None
    return text if phonenumbers.region_code_for_number(number) in regions else None


@functools.cache
def _plain_codes(regions: tuple[str, ...]) -> dict[int, bool]:
    """Calling code -> True when none of its countries strips a national prefix."""
    codes: dict[int, bool] = {}
    for region in regions:
        code = phonenumbers.country_code_for_region(region)
        for shared in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
            meta = PhoneMetadata.metadata_for_region(shared)
            plain = meta is None or not meta.national_prefix_for_parsing
            codes[code] = codes.get(code, True) and plain
    return codes
