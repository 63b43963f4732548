"""What a letter needs to reach a client: the personal identity code and the postal address.

Both are read from case-system events (`client.personal_id`, `client.address`) and are personal
data: they are sealed at rest with the rest of the recipient, never logged, and masked in API
answers. A problem is reported by field name only; the value is never echoed back.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any, Callable

from msgspec import Meta, Struct

from notifier.validation import Bad, Check, Text, text_value

_POSTAL_CODE_FI = re.compile(r"^\d{5}$")
_POSTAL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,11}$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


def _personal_id(value: str) -> str:
    """A Finnish personal identity code (henkilötunnus) with a valid checksum, in its compact form.

    python-stdnum is imported here, where codes are checked (the web's intake), not by every
    module that reads the models: a worker never checks a code, and would carry 1.4 MB for it."""
    from stdnum.exceptions import ValidationError
    from stdnum.fi import hetu

    try:
        return hetu.validate(value)
    except ValidationError:
        raise Bad("must be a valid Finnish personal identity code (henkilötunnus), e.g. 131052-308T") from None


PersonalId = Annotated[str, Meta(max_length=20, description="Finnish personal identity code (henkilötunnus), "
                                                            "checksum checked."),
                       Check(partial(text_value, max_length=20)), Check(_personal_id)]


Street = Text(200, lines=True, description="Up to 3 lines.")


class Address(Struct, frozen=True):
    """A postal address; a Finnish postal code has five digits."""

    street: Street  # type: ignore[valid-type]
    postal_code: Text(12)  # type: ignore[valid-type]
    city: Text(100)  # type: ignore[valid-type]
    country: Annotated[str, Meta(pattern="^[A-Za-z]{2}$", description="ISO 3166 code, default FI."),
                       Check(partial(text_value, max_length=40))] = "FI"  # ISO 3166-1 alpha-2

    @staticmethod
    def cross_check(values: dict[str, Any], fail: Callable[[str, str], None]) -> None:
        country = values.get("country") or "FI"
        if not _COUNTRY.match(country):
            fail("country", "must be a two-letter ISO 3166 country code, e.g. FI")
            return
        values["country"] = country = country.upper()
        postal_code = values.get("postal_code")
        if postal_code is not None:
            pattern = _POSTAL_CODE_FI if country == "FI" else _POSTAL_CODE
            if not pattern.match(postal_code):
                fail("postal_code", "must be five digits" if country == "FI" else "must be a postal code")
                return
        street = values.get("street")
        if street is not None and values.get("city") is not None and postal_code is not None \
                and len(street.splitlines()) > 3:
            fail("street", "must be at most 3 lines")

    def to_dict(self) -> dict[str, str]:
        return {"street": self.street, "postal_code": self.postal_code, "city": self.city, "country": self.country}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "Address | None":
        if not d or not d.get("street"):
            return None
        return cls(str(d["street"]), str(d.get("postal_code", "")), str(d.get("city", "")), str(d.get("country") or "FI"))
