"""The console's HTML forms as the JSON API's documents, and the API's field errors as form errors.

The console does not parse anything itself, nor declare its own fields: a form's fields are
those of the API's model (`form_fields`: `ChangeInput`, `AnnouncementInput`, `StaffInput` of
`staff/contract.py`, texts as `title_fi`/`title_sv`), the form becomes exactly the document the
JSON API takes (`form_document`), the model validates it, and the errors it
names (`title.fi`, `audience.sites[0]`, …) are put next to the form field they concern, as a
message from the Babel catalogs (msgids here, translated when the page is rendered).
Pure functions: no I/O, no clock (the time zone and "now" are passed in).
"""

from __future__ import annotations

import hashlib
import json
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Callable, Iterable, Protocol
from zoneinfo import ZoneInfo

import msgspec
from msgspec import Struct

from notifier.i18n import N_
from notifier.staff.contract import AnnouncementInput, ChangeInput, StaffInput, Texts
from notifier.validation import FieldError



class Form(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def getall(self, key: str, default: Any = None) -> list[Any]: ...


@dataclass(frozen=True)
class FormError:
    """One problem with one field: a msgid and its parameters (`%(max)s`)."""

    field: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


def text(form: Form, key: str, limit: int = 25_000) -> str:
    """A form field as typed (a file upload or a missing field is empty); cut at `limit`."""
    value = form.get(key)
    return value[:limit] if isinstance(value, str) else ""


def choices(form: Form, key: str) -> list[str]:
    return [v for v in form.getall(key, []) if isinstance(v, str) and v.strip()][:500]


def _blank_none(value: str) -> str | None:
    return value if value.strip() else None


# -- dates and times as people type them ------------------------------------------------------

_FI_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")
_DATETIME = re.compile(
    r"^\s*(?:(\d{4})-(\d{2})-(\d{2})|(\d{1,2})\.(\d{1,2})\.(\d{4}))(?:[T ]|\s+(?:klo|kl\.?)?\s*)(\d{1,2})[:.](\d{2})\s*$"
)


def typed_date(value: str) -> str:
    """`7.12.2026` (as Finns and Swedes write it) or `2026-12-07` (a date input) -> ISO; other
    text is passed on unchanged, for the API's parser to name as a bad date."""
    m = _FI_DATE.match(value)
    if m:
        try:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1))).isoformat()
        except ValueError:
            return value.strip()
    return value.strip()


def typed_datetime(value: str, tz: ZoneInfo) -> datetime | None:
    """`2026-12-07T08:00` (a datetime-local input), `2026-12-07 8.00` or `7.12.2026 klo 8.00`,
    in the service's time zone; None if it is not a real date and time."""
    m = _DATETIME.match(value)
    if not m:
        return None
    g = m.groups()
    year, month, day = (g[0], g[1], g[2]) if g[0] else (g[5], g[4], g[3])
    try:
        return datetime(int(year), int(month), int(day), int(g[6]), int(g[7]), tzinfo=tz)
    except ValueError:
        return None


# -- forms from the API's models ----------------------------------------------------------------

TEXT, CHOICES, CHECKBOX = "text", "choices", "checkbox"


def _model_of(tp: Any) -> Any:
    """The type inside `Annotated[...]` and `... | None`."""
    while True:
        if typing.get_origin(tp) is Annotated:
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) in (typing.Union, types.UnionType):
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        else:
            return tp


def form_fields(model: type[Struct]) -> dict[str, str]:
    """The form fields that make `model`'s document, each with its kind (TEXT, CHOICES: a list,
    CHECKBOX: a bool). Texts get one field per language (`title_fi`, `title_sv`); another nested
    model's fields are the form's own (`audience.sites` is the field `sites`)."""
    out: dict[str, str] = {}
    for f in msgspec.structs.fields(model):
        tp = _model_of(f.type)
        if isinstance(tp, type) and issubclass(tp, Texts):
            out.update({f"{f.name}_{t.name}": TEXT for t in msgspec.structs.fields(tp)})
        elif isinstance(tp, type) and issubclass(tp, Struct):
            out.update(form_fields(tp))
        elif typing.get_origin(tp) in (list, tuple):
            out[f.name] = CHOICES
        else:
            out[f.name] = CHECKBOX if tp is bool else TEXT
    return out


def form_values(form: Form, fields: dict[str, str], limit: int = 25_000) -> dict[str, Any]:
    """What was typed into a form, to make its document and to show again."""
    def value(key: str, kind: str) -> Any:
        if kind == CHOICES:
            return choices(form, key)
        if kind == CHECKBOX:
            return form.get(key) == "on"
        return text(form, key, limit)

    return {k: value(k, kind) for k, kind in fields.items()}


def form_document(model: type[Struct], values: dict[str, Any],
                  convert: dict[str, Callable[[Any], Any]] | None = None) -> dict[str, Any]:
    """The API document of `model` for a form's values (`form_fields`): an empty field is left out
    (null), `convert` turns a field as typed into what the API takes (`7.12.2026` -> ISO)."""
    convert = convert or {}
    doc: dict[str, Any] = {}
    for f in msgspec.structs.fields(model):
        tp = _model_of(f.type)
        if isinstance(tp, type) and issubclass(tp, Texts):
            doc[f.name] = {t.name: _blank_none(values[f"{f.name}_{t.name}"]) for t in msgspec.structs.fields(tp)}
        elif isinstance(tp, type) and issubclass(tp, Struct):
            doc[f.name] = form_document(tp, values, convert)
        elif f.name in convert:
            doc[f.name] = convert[f.name](values[f.name])
        elif isinstance(values[f.name], str):
            doc[f.name] = _blank_none(values[f.name])
        else:
            doc[f.name] = values[f.name]
    return doc


# -- practice changes -------------------------------------------------------------------------

CHANGE_FIELDS = form_fields(ChangeInput)


def change_values(form: Form) -> dict[str, Any]:
    """What was typed into the practice-change form, to show again."""
    return form_values(form, CHANGE_FIELDS)


def change_document(values: dict[str, Any]) -> dict[str, Any]:
    """The `POST /api/practice-changes` body for the form's values."""
    return form_document(ChangeInput, values, {"effective_from": lambda typed: _blank_none(typed_date(typed))})


# -- announcements ----------------------------------------------------------------------------

#: The announcement's fields, and whether to send now or later (only the form has that choice).
ANNOUNCEMENT_FIELDS = {**form_fields(AnnouncementInput), "when": TEXT}
NOW, LATER = "now", "later"


def announcement_values(form: Form) -> dict[str, Any]:
    values = form_values(form, ANNOUNCEMENT_FIELDS)
    values["when"] = LATER if values["when"] == LATER else NOW
    return values


def announcement_document(values: dict[str, Any], tz: ZoneInfo, now: datetime) -> tuple[dict[str, Any], list[FormError]]:
    """The `POST /api/announcements` body, and the errors only a form can have (the time to send
    at, typed as people type it, must be a real time in the future)."""
    errors: list[FormError] = []
    send_at = None
    if values["when"] == LATER:
        if not values["send_at"].strip():
            errors.append(FormError("send_at", REQUIRED["send_at"]))
        else:
            at = typed_datetime(values["send_at"], tz)
            if at is None:
                errors.append(FormError("send_at", INVALID["send_at"]))
            elif at <= now:
                errors.append(FormError("send_at", SEND_AT_PAST))
            else:
                send_at = at.isoformat()
    return form_document(AnnouncementInput, values, {"send_at": lambda typed: send_at}), errors


def fingerprint(document: dict[str, Any]) -> str:
    """Identifies an announcement's content: the one sent must be the one previewed."""
    return hashlib.sha256(json.dumps(document, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


# -- staff ------------------------------------------------------------------------------------

#: The staff form: the id (a path parameter of the API) and the `PUT /api/staff/{id}` body.
STAFF_FIELDS = {"id": TEXT, **form_fields(StaffInput)}


def staff_values(form: Form) -> dict[str, Any]:
    return form_values(form, STAFF_FIELDS, 300)


def staff_document(values: dict[str, Any]) -> dict[str, Any]:
    """The `PUT /api/staff/{id}` body."""
    return form_document(StaffInput, values)


# -- errors -----------------------------------------------------------------------------------

REQUIRED = {
    "title_fi": N_("Enter the title in Finnish"),
    "body_fi": N_("Enter the text in Finnish"),
    "subject_fi": N_("Enter the subject in Finnish"),
    "effective_from": N_("Enter the date from which the change applies"),
    "channels": N_("Choose at least one channel"),
    "send_at": N_("Enter the date and time to send at"),
    "id": N_("Enter an id for the person"),
    "name": N_("Enter the person's name"),
    "email": N_("Enter the person's work e-mail address"),
    "language": N_("Choose a language"),
    "organisation": N_("Enter the organisation"),
    "site": N_("Enter the site"),
}
INVALID = {
    "effective_from": N_("Enter a real date, like 7.12.2026"),
    "send_at": N_("Enter a date and time like 7.12.2026 9.00"),
    "sites": N_("Choose sites from the list"),
    "organisations": N_("Choose organisations from the list"),
    "staff_ids": N_("Someone you chose is no longer in the staff directory"),
    "channels": N_("Choose e-mail, SMS or both"),
    "audience": N_("This selects nobody in the staff directory: choose other sites, organisations or people"),
    "id": N_("Use 1 to 128 letters, digits or . _ : - starting with a letter or digit"),
    "email": N_("Enter an e-mail address like name@example.fi"),
    "phone": N_("Enter a phone number like 040 1234567 or +358401234567"),
    "language": N_("Choose a language"),
    "organisation": N_("Use lower-case letters, digits, - or _, like employment-area"),
    "site": N_("Use lower-case letters, digits, - or _, like employment-area"),
}
TOO_LONG = N_("Use at most %(max)s characters")
SMS_TOO_LONG = N_("With SMS, the text may be at most %(max)s characters")
ONE_LINE = N_("Write this on one line")
CHECK = N_("Check this field")
SEND_AT_PAST = N_("The time must be in the future")
ID_TAKEN = N_("A staff member with this id already exists")
EMAIL_TAKEN = N_("Another staff member (%(id)s) already has this address")
NOT_MOBILE = N_("This is a landline number, which cannot receive text messages. Enter a mobile number, like 040 1234567, or leave the field empty")

_INDEXED = re.compile(r"\[\d+\]$")
_AT_MOST = re.compile(r"at most (\d+) characters")


def form_field(api_field: str) -> str:
    """`title.fi` -> `title_fi`, `audience.sites[0]` -> `sites`, `channels[1]` -> `channels`."""
    name = _INDEXED.sub("", api_field)
    if name.startswith("audience.") or name.startswith("data."):
        name = name.split(".", 1)[1]
    if name in ("title", "subject", "body"):
        return f"{name}_fi"
    return name.replace(".", "_")


def form_errors(errors: Iterable[FieldError], values: dict[str, Any] | None = None) -> dict[str, FormError]:
    """The first problem of each form field, in words for people."""
    out: dict[str, FormError] = {}
    for e in errors:
        name = form_field(e.field)
        limit = _AT_MOST.search(e.detail)
        if e.field == "body" and "SMS" in e.detail and limit:
            # The API names the body as a whole; point at the language that is too long.
            n = int(limit.group(1))
            langs = [lang for lang in ("fi", "sv") if len((values or {}).get(f"body_{lang}", "")) > n] or ["fi"]
            for lang in langs:
                out.setdefault(f"body_{lang}", FormError(f"body_{lang}", SMS_TOO_LONG, {"max": n}))
            continue
        if name in out:
            continue
        if e.detail in ("is required", "must not be empty") or e.detail.startswith("must name at least one"):
            out[name] = FormError(name, REQUIRED.get(name, INVALID.get(name, CHECK)))
        elif limit:
            out[name] = FormError(name, TOO_LONG, {"max": int(limit.group(1))})
        elif "line breaks" in e.detail:
            out[name] = FormError(name, ONE_LINE)
        else:
            out[name] = FormError(name, INVALID.get(name, CHECK))
    return out
