"""Phone numbers as case systems send them (`050-123 4567`, `+358 40 1234567`) made into E.164.

Parsing is `phonenumbers` (libphonenumber's metadata), default region Finland. Planning uses
`mobile_e164` to decide whether an SMS can be sent at all; call prompts use `callable_e164`,
because staff can call a landline even though it cannot take an SMS.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

DEFAULT_REGION = "FI"
_MOBILE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def _parse(raw: str | None, region: str) -> phonenumbers.PhoneNumber | None:
    if not raw or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def mobile_e164(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """E.164 (`+358401234567`) when `raw` is a valid mobile number, else None."""
    number = _parse(raw, region)
    if number is None or phonenumbers.number_type(number) not in _MOBILE:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def callable_e164(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """E.164 for any valid number (mobile or landline), else None."""
    number = _parse(raw, region)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) if number else None
