"""Reading untrusted JSON into typed values, collecting every problem with the field it concerns.

Unknown fields are ignored everywhere (documented in the README): case systems may send more
than we read, and a newer case system must not break on an older notifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable

LANGUAGES = ("fi", "sv")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


@dataclass(frozen=True)
class FieldError:
    field: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "detail": self.detail}


class Invalid(ValueError):
    """Raised with every problem found in a document."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.detail}" for e in self.errors))


@dataclass
class Reader:
    """Reads fields of one JSON object at `path`, remembering problems instead of raising."""

    data: Any
    path: str
    errors: list[FieldError] = field(default_factory=list)

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, detail: str) -> None:
        self.errors.append(FieldError(self._name(key), detail))

    def is_object(self) -> bool:
        if not isinstance(self.data, dict):
            self.errors.append(FieldError(self.path or "(body)", "must be an object"))
            return False
        return True

    def raw(self, key: str, required: bool) -> Any:
        if not isinstance(self.data, dict):
            return None
        value = self.data.get(key)
        if value is None and required:
            self.fail(key, "is required")
        return value

    def child(self, key: str, required: bool = True) -> "Reader | None":
        value = self.raw(key, required)
        if value is None:
            return None
        sub = Reader(value, self._name(key), self.errors)
        return sub if sub.is_object() else None

    def string(self, key: str, required: bool = True, max_length: int = 200, single_line: bool = True) -> str | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, "must be a string")
            return None
        value = value.strip()
        if required and not value:
            self.fail(key, "must not be empty")
            return None
        if len(value) > max_length:
            self.fail(key, f"must be at most {max_length} characters")
            return None
        if single_line and _CONTROL.search(value):
            self.fail(key, "must not contain control characters or line breaks")
            return None
        if not single_line and re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
            self.fail(key, "must not contain control characters")
            return None
        return value or None

    def identifier(self, key: str, required: bool = True) -> str | None:
        value = self.string(key, required, max_length=128)
        if value is not None and not _ID.match(value):
            self.fail(key, "must be 1-128 letters, digits or . _ : - (starting with a letter or digit)")
            return None
        return value

    def language(self, key: str = "language", required: bool = True) -> str | None:
        value = self.string(key, required, max_length=5)
        if value is not None and value not in LANGUAGES:
            self.fail(key, "must be 'fi' or 'sv'")
            return None
        return value

    def email(self, key: str = "email", required: bool = False) -> str | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, "must be a string")
            return None
        if _CONTROL.search(value) or len(value) > 254 or not _EMAIL.match(value.strip()):
            self.fail(key, "must be a valid e-mail address")
            return None
        return value.strip()

    def datetime(self, key: str, required: bool = True) -> datetime | None:
        value = self.string(key, required, max_length=40)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.fail(key, "must be an ISO 8601 date and time, e.g. 2026-12-03T09:00:00+02:00")
            return None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            self.fail(key, "must include a UTC offset, e.g. +02:00")
            return None
        return parsed

    def date(self, key: str, required: bool = True) -> date | None:
        value = self.string(key, required, max_length=10)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(key, "must be a date YYYY-MM-DD")
            return None

    def boolean(self, key: str, required: bool = False) -> bool | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.fail(key, "must be true or false")
            return None
        return value

    def list(self, key: str, required: bool = False, max_items: int = 10_000) -> list[Any] | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail(key, "must be a list")
            return None
        if len(value) > max_items:
            self.fail(key, f"must have at most {max_items} items")
            return None
        return value

    def string_list(self, key: str, required: bool = False, max_items: int = 10_000) -> list[str] | None:
        items = self.list(key, required, max_items)
        if items is None:
            return None
        out: list[str] = []
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item.strip() or len(item) > 128 or _CONTROL.search(item):
                self.fail(f"{key}[{i}]", "must be a non-empty single-line string of at most 128 characters")
            else:
                out.append(item.strip())
        return out

    def item(self, key: str, index: int, value: Any) -> "Reader":
        sub = Reader(value, f"{self._name(key)}[{index}]", self.errors)
        sub.is_object()
        return sub
