"""Names and addresses a client reads, in Finnish and Swedish (issue 13).

Bodies and places have official forms in both languages (Turku/Åbo, Ratapihankatu/Bangårdsgatan,
"Turun seudun työllisyysalue"/"Åbonejdens sysselsättningsområde"). A case system or the
configuration gives such a field either as one string (the same in both languages) or as
`{"fi": "…", "sv": "…"}` with at least one of the two. A client gets their language's form; when
only the other one was given they get that, and the message records the field in `name_fallback`
so that coordinators can fill the gap.

`read_bilingual` is the one parser of such fields (used by `events.py`); `Bilingual` is the value;
`Party` is an organisation as events and the configuration name it (one type for both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from notifier.validation import Reader

LANGUAGES = ("fi", "sv")


@dataclass(frozen=True)
class Bilingual:
    """A name in Finnish and/or Swedish. A plain string is the same form in both (`same`)."""

    fi: str | None = None
    sv: str | None = None

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


def as_bilingual(value: "Bilingual | str | None") -> "Bilingual | None":
    """A plain string as the same form in both languages (for dataclasses built in code)."""
    return Bilingual.same(value) if isinstance(value, str) and value else (value or None)  # type: ignore[return-value]


def coerce_fields(obj: Any, *names: str) -> None:
    """In a frozen dataclass's `__post_init__`: make each named str field a `Bilingual`."""
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, str):
            object.__setattr__(obj, name, as_bilingual(value))


@dataclass(frozen=True)
class Party:
    """The authority (employment area or municipality) or the provider: its name in fi and/or sv
    (a plain string is taken as the same in both) and how a client reaches it."""

    name: Bilingual
    phone: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        coerce_fields(self, "name")
        for key in ("phone", "email"):
            if getattr(self, key) == "":
                object.__setattr__(self, key, None)


def read_bilingual(r: Reader, key: str, required: bool = True, max_length: int = 200) -> Bilingual | None:
    """`key` as a string or as `{"fi", "sv"}` (each optional, at least one), with `Reader.string`'s checks.

    Problems are named by field (`office.name.sv: must be a string`); an object with neither
    language is `office.name: must give "fi" or "sv"`.
    """
    value = r.raw(key, required)
    if value is None:
        return None
    if isinstance(value, dict):
        sub = r.child(key)
        assert sub is not None  # a dict is an object
        before = len(r.errors)
        fi = sub.string("fi", required=False, max_length=max_length)
        sv = sub.string("sv", required=False, max_length=max_length)
        if len(r.errors) > before:
            return None
        if not fi and not sv:
            r.fail(key, 'must give "fi" or "sv" (or be a string)')
            return None
        return Bilingual(fi, sv)
    text = r.string(key, required, max_length=max_length)
    return Bilingual.same(text) if text else None


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
