"""The contract's machinery: untrusted JSON read into typed models, every problem named by its field.

Models are msgspec `Struct`s declared once (`casework/events.py`, `staff/contract.py`,
`kickoff/contract.py`); the OpenAPI document's schemas are generated from the same classes
(`web/openapi.py`). msgspec stops at the first error, but a 422 must name *every* bad field in
words people can act on, so `validate(document, Model)` walks the model's fields itself: each
field type is an `Annotated` type whose `Meta` feeds the schema and whose `Check` reads the value
(stripping, lengths, checksums, normalising), and a model may cross-check its fields in a
`cross_check` static method. Fields are named as the README documents them: `data.client.email`,
`invitees[1].id`.

Unknown fields are ignored everywhere (documented in the README): case systems may send more
than we read, and a newer case system must not break on an older notifier.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from datetime import date as Date_, datetime
from functools import partial
from typing import Annotated, Any, Callable, Iterable, Literal

import msgspec
from msgspec import Meta, Struct

LANGUAGES = ("fi", "sv")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
_ID = re.compile(ID_PATTERN)
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_CODE = re.compile(CODE_PATTERN)


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


class Bad(ValueError):
    """Raised by a `Check` with what is wrong with one value (never the value itself)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


# -- markers inside Annotated[...] (msgspec ignores them; `validate` reads them) ------------------


@dataclass(frozen=True)
class Check:
    """How a JSON value becomes the field's value: returns it (None: left empty), or raises Bad.

    Several Checks run in order; one returning None ends the chain (an optional field left empty)."""

    read: Callable[[Any], Any]


@dataclass(frozen=True)
class Items:
    """A list field's rules (the schema gets `maxItems`/`minItems` from the Meta beside it)."""

    max_items: int = 10_000
    empty: str | None = None  # the detail when the list is empty; None: an empty list is fine
    unique: str | None = None  # the field of the items (models) whose value must not repeat
    duplicate: str = "appears twice"
    dedupe: bool = False  # repeated (string) items are dropped, the first kept


# -- reading single values ------------------------------------------------------------------------


def text_value(value: Any, max_length: int = 200, single_line: bool = True) -> str | None:
    """A string, stripped; None when empty (the model says whether empty is allowed)."""
    if not isinstance(value, str):
        raise Bad("must be a string")
    value = value.strip()
    if not value:
        return None
    if len(value) > max_length:
        raise Bad(f"must be at most {max_length} characters")
    if single_line and _CONTROL.search(value):
        raise Bad("must not contain control characters or line breaks")
    if not single_line:
        if _CONTROL_MULTILINE.search(value):
            raise Bad("must not contain control characters")
        value = value.replace("\r\n", "\n")
    return value


def email_value(value: Any) -> str:
    if not isinstance(value, str):
        raise Bad("must be a string")
    if _CONTROL.search(value) or len(value) > 254 or not _EMAIL.match(value.strip()):
        raise Bad("must be a valid e-mail address")
    return value.strip()


def parse_email(value: Any) -> str | None:
    """An e-mail address as typed into a form or a setting, stripped; None if it is not one."""
    try:
        return email_value(value) if value is not None else None
    except Bad:
        return None


def _identifier(value: str) -> str:
    if not _ID.match(value):
        raise Bad("must be 1-128 letters, digits or . _ : - (starting with a letter or digit)")
    return value


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise Bad("must be 'fi' or 'sv'")
    return value


def _datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Bad("must be an ISO 8601 date and time, e.g. 2026-12-03T09:00:00+02:00") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise Bad("must include a UTC offset, e.g. +02:00")
    return parsed


def _date(value: str) -> Date_:
    try:
        return Date_.fromisoformat(value)
    except ValueError:
        raise Bad("must be a date YYYY-MM-DD") from None


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Bad("must be true or false")
    return value


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Bad("must be a whole number")
    return value


def _bounded(low: int | None, high: int | None, value: int) -> int:
    if low is not None and value < low:
        raise Bad(f"must be at least {low}")
    if high is not None and value > high:
        raise Bad(f"must be at most {high}")
    return value


def _list_item(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 128 or _CONTROL.search(value):
        raise Bad("must be a non-empty single-line string of at most 128 characters")
    return value.strip()


def _code(value: str) -> str:
    value = value.lower()
    if not _CODE.match(value):
        raise Bad("must be 1-64 lower-case letters, digits, - or _")
    return value


def one_of(allowed: Iterable[str], detail: str | None = None) -> Check:
    """A Check: the value must be one of `allowed`."""
    allowed = tuple(allowed)
    message = detail or f"must be one of {', '.join(allowed)}"

    def read(value: str) -> str:
        if value not in allowed:
            raise Bad(message)
        return value

    return Check(read)


# -- field types: the schema (Meta) and the reading (Check) declared together ---------------------


def Text(max_length: int = 200, *, lines: bool = False, description: str | None = None) -> Any:
    """Free text, stripped; `lines=True` allows line breaks (CRLF stored as LF)."""
    return Annotated[str, Meta(min_length=1, max_length=max_length, description=description),
                     Check(partial(text_value, max_length=max_length, single_line=not lines))]


def Choice(*allowed: str, detail: str | None = None, description: str | None = None) -> Any:
    """One of a few words (`"reached"`, `"no-answer"`, …)."""
    return Annotated[Literal[allowed], Meta(description=description),  # type: ignore[valid-type]
                     Check(partial(text_value, max_length=64)), one_of(allowed, detail)]


def Count(minimum: int | None = None, maximum: int | None = None, *, description: str | None = None) -> Any:
    """A whole number (not a boolean) within bounds, e.g. a session's capacity."""
    return Annotated[int, Meta(ge=minimum, le=maximum, description=description),
                     Check(_integer), Check(partial(_bounded, minimum, maximum))]


Identifier = Annotated[str, Meta(min_length=1, max_length=128, pattern=ID_PATTERN,
                                 description="1-128 letters, digits, `. _ : -`, starting with a letter or digit."),
                       Check(partial(text_value, max_length=128)), Check(_identifier)]
Language = Annotated[Literal["fi", "sv"], Meta(description="Finnish or Swedish."),
                     Check(partial(text_value, max_length=5)), Check(_language)]
Email = Annotated[str, Meta(max_length=254, extra_json_schema={"format": "email"}), Check(email_value)]
Phone = Annotated[str, Meta(max_length=40, description="As the case system has it; made E.164 when used."),
                  Check(partial(text_value, max_length=40))]
DateTime = Annotated[datetime, Meta(tz=True, description="ISO 8601 with a UTC offset, e.g. 2026-12-03T09:00:00+02:00."),
                     Check(partial(text_value, max_length=40)), Check(_datetime)]
Day = Annotated[Date_, Meta(description="YYYY-MM-DD."), Check(partial(text_value, max_length=10)), Check(_date)]
Flag = Annotated[bool, Check(_boolean)]
Code = Annotated[str, Meta(min_length=1, max_length=64, pattern=CODE_PATTERN,
                           description="Lower-case code: letters, digits, `-`, `_` (upper case is lowered)."),
                 Check(partial(text_value, max_length=64)), Check(_code)]
#: An item of a list of ids or words: a non-empty single-line string of at most 128 characters.
Word = Annotated[str, Meta(min_length=1, max_length=128), Check(_list_item)]
CodeItem = Annotated[str, Meta(min_length=1, max_length=64, pattern=CODE_PATTERN), Check(_list_item), Check(_code)]
IdItem = Annotated[str, Meta(min_length=1, max_length=128, pattern=ID_PATTERN), Check(_list_item)]
#: A list of codes, each once (`sites`, `organisations`).
Codes = Annotated[tuple[CodeItem, ...], Meta(max_length=200), Items(max_items=200, dedupe=True)]


# -- the walker -----------------------------------------------------------------------------------

_FAILED = object()
Reader = Callable[[Any, str, list[FieldError]], Any]
_READERS: dict[Any, Reader] = {}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def validate(document: Any, model: Any) -> Any:
    """`document` (parsed JSON) as `model` (a Struct, or a union of tagged Structs); raises Invalid
    naming every bad field."""
    errors: list[FieldError] = []
    value = reader_for(model)(document, "", errors)
    if errors or value is _FAILED:
        raise Invalid(errors)
    return value


def validate_value(value: Any, field_type: Any, field: str) -> Any:
    """One value as `field_type` (e.g. an id from a URL path); raises Invalid naming `field`."""
    errors: list[FieldError] = []
    if value is None:
        raise Invalid([FieldError(field, "is required")])
    out = reader_for(field_type)(value, field, errors)
    if errors or out is _FAILED:
        raise Invalid(errors)
    if out is None:
        raise Invalid([FieldError(field, "must not be empty")])
    return out


def reader_for(tp: Any) -> Reader:
    found = _READERS.get(tp)
    if found is None:
        found = _READERS[tp] = _compile(tp)
    return found


def _compile(tp: Any) -> Reader:
    origin = typing.get_origin(tp)
    if origin is Annotated:
        base, *extras = typing.get_args(tp)
        checks = [m.read for m in extras if isinstance(m, Check)]
        items = next((m for m in extras if isinstance(m, Items)), None)
        if checks:
            return _leaf(checks)
        if items is not None or typing.get_origin(base) in (list, tuple):
            return _sequence(base, items or Items())
        return reader_for(base)
    if origin in (typing.Union, types.UnionType):
        return _union(typing.get_args(tp))
    if origin in (list, tuple):
        return _sequence(tp, Items())
    if isinstance(tp, type) and issubclass(tp, Struct):
        return _struct(tp)
    defaults = {str: [partial(text_value, max_length=200)], bool: [_boolean], int: [_integer],
                datetime: [text_value, _datetime],
                Date_: [text_value, _date]}
    if tp in defaults:
        return _leaf(defaults[tp])
    raise TypeError(f"no reader for {tp!r}: annotate it with a Check")


def _leaf(checks: list[Callable[[Any], Any]]) -> Reader:
    def read(value: Any, path: str, errors: list[FieldError]) -> Any:
        try:
            for check in checks:
                value = check(value)
                if value is None:
                    return None
        except Bad as exc:
            errors.append(FieldError(path, exc.detail))
            return _FAILED
        return value

    return read


def _sequence(tp: Any, items: Items) -> Reader:
    args = typing.get_args(tp)
    item_read = reader_for(args[0])
    as_tuple = typing.get_origin(tp) is tuple

    def read(value: Any, path: str, errors: list[FieldError]) -> Any:
        if not isinstance(value, list):
            errors.append(FieldError(path, "must be a list"))
            return _FAILED
        if len(value) > items.max_items:
            errors.append(FieldError(path, f"must have at most {items.max_items} items"))
            return _FAILED
        if not value and items.empty:
            errors.append(FieldError(path, items.empty))
            return _FAILED
        out: list[Any] = []
        seen: set[Any] = set()
        failed = False
        for i, raw in enumerate(value):
            sub = f"{path}[{i}]"
            item = item_read(raw, sub, errors)
            if item is _FAILED or item is None:
                failed = failed or item is _FAILED
                continue
            if items.unique is not None:
                key = getattr(item, items.unique)
                if key in seen:
                    errors.append(FieldError(_join(sub, items.unique), items.duplicate))
                    failed = True
                    continue
                seen.add(key)
            out.append(item)
        if failed:
            return _FAILED
        if items.dedupe:
            out = list(dict.fromkeys(out))
        return tuple(out) if as_tuple else out

    return read


def _union(alternatives: tuple[Any, ...]) -> Reader:
    options = [a for a in alternatives if a is not type(None)]
    if len(options) == 1:
        return reader_for(options[0])
    structs = [a for a in options if isinstance(a, type) and issubclass(a, Struct)]
    if structs and len(structs) == len(options) and all(s.__struct_config__.tag is not None for s in structs):
        return _tagged(structs)
    struct_read = reader_for(structs[0]) if structs else None
    other = [a for a in options if a not in structs]
    other_read = reader_for(other[0]) if other else None

    def read(value: Any, path: str, errors: list[FieldError]) -> Any:
        if isinstance(value, dict) and struct_read is not None:
            return struct_read(value, path, errors)
        if other_read is not None:
            return other_read(value, path, errors)
        errors.append(FieldError(path, "must be an object"))
        return _FAILED

    return read


def _tagged(variants: list[type[Struct]]) -> Reader:
    """`{"type": "<tag>", …}`: the variant named by the tag field (a webhook event's envelope)."""
    tag_field = variants[0].__struct_config__.tag_field
    by_tag = {v.__struct_config__.tag: v for v in variants}
    tag_read = _leaf([partial(text_value, max_length=64)])

    def read(value: Any, path: str, errors: list[FieldError]) -> Any:
        if not isinstance(value, dict):
            errors.append(FieldError(path or "(body)", "must be an object"))
            return _FAILED
        where = _join(path, tag_field)
        tag = value.get(tag_field)
        tag = None if tag is None else tag_read(tag, where, errors)
        if tag is None:
            errors.append(FieldError(where, "is required"))
            return _FAILED
        if tag is _FAILED:
            return _FAILED
        if tag not in by_tag:
            errors.append(FieldError(where, f"unknown event {tag_field}; expected one of {', '.join(sorted(by_tag))}"))
            return _FAILED
        return reader_for(by_tag[tag])(value, path, errors)

    return read


@dataclass(frozen=True)
class _Field:
    name: str
    key: str
    read: Reader
    required: bool
    default: Callable[[], Any]


def _struct(cls: type[Struct]) -> Reader:
    fields = [
        _Field(f.name, f.encode_name, reader_for(f.type), f.required,
               f.default_factory if f.default_factory is not msgspec.NODEFAULT else (lambda d=f.default: d))
        for f in msgspec.structs.fields(cls)
    ]
    cross_check = getattr(cls, "cross_check", None)

    def read(value: Any, path: str, errors: list[FieldError]) -> Any:
        if not isinstance(value, dict):
            errors.append(FieldError(path or "(body)", "must be an object"))
            return _FAILED
        before = len(errors)
        values: dict[str, Any] = {}
        for f in fields:
            raw = value.get(f.key)
            where = _join(path, f.key)
            if raw is None:
                if f.required:
                    errors.append(FieldError(where, "is required"))
                else:
                    values[f.name] = f.default()
                continue
            got = f.read(raw, where, errors)
            if got is _FAILED:
                continue
            if got is None:
                if f.required:
                    errors.append(FieldError(where, "must not be empty"))
                    continue
                got = f.default()
            values[f.name] = got
        if cross_check is not None:
            cross_check(values, lambda key, detail: errors.append(FieldError(_join(path, key), detail)))
        if len(errors) > before:
            return _FAILED
        return cls(**values)

    return read

