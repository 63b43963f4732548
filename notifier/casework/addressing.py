"""What a letter needs to reach a client: the personal identity code and the postal address.

Both are read from case-system events (`client.personal_id`, `client.address`) and are personal
data: they are sealed at rest with the rest of the recipient, never logged, and masked in API
answers. A problem is reported by field name only; the value is never echoed back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from stdnum.exceptions import ValidationError
from stdnum.fi import hetu

from notifier.validation import Reader

_POSTAL_CODE_FI = re.compile(r"^\d{5}$")
_POSTAL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,11}$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


@dataclass(frozen=True)
class Address:
    street: str
    postal_code: str
    city: str
    country: str = "FI"  # ISO 3166-1 alpha-2

    def to_dict(self) -> dict[str, str]:
        return {"street": self.street, "postal_code": self.postal_code, "city": self.city, "country": self.country}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "Address | None":
        if not d or not d.get("street"):
            return None
        return cls(str(d["street"]), str(d.get("postal_code", "")), str(d.get("city", "")), str(d.get("country") or "FI"))


def read_personal_id(r: Reader, key: str = "personal_id") -> str | None:
    """A Finnish personal identity code (henkilötunnus) with a valid checksum, in its compact form."""
    value = r.string(key, required=False, max_length=20)
    if value is None:
        return None
    try:
        return hetu.validate(value)
    except ValidationError:
        r.fail(key, "must be a valid Finnish personal identity code (henkilötunnus), e.g. 131052-308T")
        return None


def read_address(r: Reader, key: str = "address") -> Address | None:
    """`{"street", "postal_code", "city", "country"?}`; a Finnish postal code has five digits."""
    sub = r.child(key, required=False)
    if sub is None:
        return None
    street = sub.string("street", max_length=200, single_line=False)
    postal_code = sub.string("postal_code", max_length=12)
    city = sub.string("city", max_length=100)
    country = sub.string("country", required=False, max_length=40)
    if country is not None and not _COUNTRY.match(country):
        sub.fail("country", "must be a two-letter ISO 3166 country code, e.g. FI")
        return None
    country = (country or "FI").upper()
    if postal_code is not None:
        pattern = _POSTAL_CODE_FI if country == "FI" else _POSTAL_CODE
        if not pattern.match(postal_code):
            sub.fail("postal_code", "must be five digits" if country == "FI" else "must be a postal code")
            return None
    if street is None or postal_code is None or city is None:
        return None
    if len(street.splitlines()) > 3:
        sub.fail("street", "must be at most 3 lines")
        return None
    return Address(street, postal_code, city, country)
