"""Names and addresses a client reads, in Finnish and Swedish (issue 13).

Bodies and places have official forms in both languages (Turku/Åbo, Ratapihankatu/Bangårdsgatan,
"Turun seudun työllisyysalue"/"Åbonejdens sysselsättningsområde"). A case system or the
configuration gives such a field either as one string (the same in both languages) or as
`{"fi": "…", "sv": "…"}` with at least one of the two. A client gets their language's form; when
only the other one was given they get that, and the message records the field in `name_fallback`
so that coordinators can fill the gap.

`Bilingual` is the value (a msgspec Struct: the model of the `{"fi", "sv"}` form); `Name(n)` is
the field type of such a name in a model of the contract (`events.py`): it reads either form into
a `Bilingual` and its schema says "a string or `Bilingual`". `Party` is an organisation as
events and the configuration name it (one type for both).
"""

from __future__ import annotations

from typing import Annotated, Any, Callable

import msgspec
from msgspec import Meta, Struct

from notifier.validation import After, Email, Phone, Text

LANGUAGES = ("fi", "sv")


class Bilingual(Struct, frozen=True):
    """A name in Finnish and/or Swedish (at least one). A plain string is the same form in both (`same`)."""

    fi: Text(200) | None = None  # type: ignore[valid-type]
    sv: Text(200) | None = None  # type: ignore[valid-type]

    @staticmethod
    def cross_check(values: dict[str, Any], fail: Callable[[str, str], None]) -> None:
        both_read = "fi" in values and "sv" in values  # (a form that failed is named already)
        if both_read and values["fi"] is None and values["sv"] is None:
            fail("", 'must give "fi" or "sv" (or be a string)')

    @classmethod
    def same(cls, text: str) -> "Bilingual":
        return cls(text, text)

    def text(self, language: str) -> str:
        """The form in `language`, else the other one."""
        return self.pick(language)[0]

    def pick(self, language: str) -> tuple[str, bool]:
        """`(text, fell_back)`: the form in `language`, or the other one and True."""
        own = self.fi if language == "fi" else self.sv
        if own:
            return own, False
        other = self.sv if language == "fi" else self.fi
        return other or "", bool(other)

    def to_json(self) -> str | dict[str, str]:
        """A string when both forms are the same, else `{"fi": …, "sv": …}` (the given ones)."""
        if self.fi == self.sv and self.fi is not None:
            return self.fi
        return {k: v for k, v in (("fi", self.fi), ("sv", self.sv)) if v}

    @classmethod
    def from_json(cls, value: Any) -> "Bilingual | None":
        """The inverse of `to_json` (also reads what was stored before names had two forms)."""
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return cls.same(value)
        if isinstance(value, dict):
            fi, sv = value.get("fi") or None, value.get("sv") or None
            return cls(fi, sv) if fi or sv else None
        if isinstance(value, Bilingual):
            return value
        raise TypeError(f"not a bilingual name: {type(value).__name__}")

    def __str__(self) -> str:  # for logs and staff views that want one form: Finnish first
        return self.fi or self.sv or ""


def Name(max_length: int = 200) -> Any:
    """The field type of a name clients read: a string (both languages) or `{"fi", "sv"}`, as a `Bilingual`.

    Problems are named by field (`office.name.sv: must be a string`); an object with neither
    language is `office.name: must give "fi" or "sv"`. `max_length` bounds the string form; each
    form of the object may have 200 characters."""
    return Annotated[Text(max_length) | Bilingual, Meta(description=_NAME), After(as_bilingual)]


_NAME = ("A string (the same in both languages) or `{\"fi\": …, \"sv\": …}`; a client gets their language's form, "
         "else the other one (recorded in the message's `name_fallback`).")


def as_bilingual(value: "Bilingual | str | None") -> "Bilingual | None":
    """A plain string as the same form in both languages (for dataclasses built in code)."""
    return Bilingual.same(value) if isinstance(value, str) and value else (value or None)  # type: ignore[return-value]


def coerce_fields(obj: Struct, *names: str) -> None:
    """In a frozen Struct's `__post_init__`: make each named str field a `Bilingual` (built in code)."""
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, str):
            msgspec.structs.force_setattr(obj, name, as_bilingual(value))


class Party(Struct, frozen=True):
    """The authority (employment area or municipality) or the provider: its name in fi and/or sv
    (a plain string is taken as the same in both) and how a client reaches it."""

    name: Name()  # type: ignore[valid-type]
    phone: Phone | None = None
    email: Email | None = None

    def __post_init__(self) -> None:
        coerce_fields(self, "name")
        for key in ("phone", "email"):
            if getattr(self, key) == "":
                msgspec.structs.force_setattr(self, key, None)


class Localizer:
    """Picks forms for one language and remembers which fields fell back to the other one."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.fallbacks: list[str] = []

    def __call__(self, value: Bilingual | None, field: str) -> str:
        if value is None:
            return ""
        text, fell_back = value.pick(self.language)
        if fell_back and field not in self.fallbacks:
            self.fallbacks.append(field)
        return text
