"""The coordinators' API bodies for staff communication, declared once as msgspec Structs.

`PUT /api/staff/{id}` (`StaffInput`), `POST /api/practice-changes` (`ChangeInput`),
`POST /api/announcements` (`AnnouncementInput`), `POST /api/digests/run` (`DigestRunInput`) and the
self-service subscription form (`NewSubscriber`). The console's forms become these same documents
(`console/forms.py`). `notifier.validation.validate(document, Model)` reads them, naming every bad
field; `web/openapi.py` generates their schemas.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Callable, Literal

from msgspec import Meta, Struct

from channels.sms import MAX_PARTS as MAX_SMS_PARTS
from channels.sms import count_parts
from notifier.messages.model import EMAIL, SMS
from notifier.phones import callable_e164
from notifier.staff.planning import parse_week
from notifier.validation import (
    Bad, Check, Code, Codes, DateTime, Day, Email, Flag, IdItem, Items, Language, Text, one_of, text_value,
)

TITLE_MAX = 200
BODY_MAX = 20_000
SMS_BODY_MAX = 640  # four GSM-7 parts, about: an SMS announcement is a pointer, not a letter
CHANNELS = (EMAIL, SMS)


def _phone(value: str) -> str:
    phone = callable_e164(value)
    if phone is None:
        raise Bad("must be a valid phone number, e.g. 040 1234567 or +358401234567")
    return phone


def _week(value: str) -> str:
    week = parse_week(value)
    if week is None:
        raise Bad("must be an ISO week, e.g. 2026-W49")
    return week


StaffPhone = Annotated[str, Meta(max_length=40, description="Stored in E.164."),
                       Check(partial(text_value, max_length=40)), Check(_phone)]
Week = Annotated[str, Meta(pattern="^[0-9]{4}-W[0-9]{2}$", description="ISO week, e.g. 2026-W49; not in the future."),
                 Check(partial(text_value, max_length=10)), Check(_week)]
Channel = Annotated[Literal["email", "sms"], Check(partial(text_value, max_length=128)),
                    one_of(CHANNELS, "must be 'email' or 'sms'")]


class StaffInput(Struct, frozen=True):
    """A `PUT /api/staff/{id}` body; `digest` left out keeps what the person chose (new: on)."""

    name: Text(200)  # type: ignore[valid-type]
    email: Email
    language: Language
    organisation: Code
    site: Code
    phone: StaffPhone | None = None
    digest: Flag | None = None


class NewSubscriber(Struct, frozen=True):
    """The self-service form of someone not yet in the directory (`/subscribe/confirm/…`)."""

    name: Text(200)  # type: ignore[valid-type]
    organisation: Code
    site: Code


class Texts(Struct, frozen=True):
    """Finnish required, Swedish optional (shown as untranslated)."""

    def as_dict(self) -> dict[str, str]:
        fi, sv = getattr(self, "fi"), getattr(self, "sv")
        return {"fi": fi, "sv": sv} if sv else {"fi": fi}


class Title(Texts, frozen=True):
    """A title or subject: one line in each language; Finnish required."""

    fi: Text(TITLE_MAX)  # type: ignore[valid-type]
    sv: Text(TITLE_MAX) | None = None  # type: ignore[valid-type]


class Body(Texts, frozen=True):
    """Plain text, paragraphs separated by a blank line; Finnish required."""

    fi: Text(BODY_MAX, lines=True)  # type: ignore[valid-type]
    sv: Text(BODY_MAX, lines=True) | None = None  # type: ignore[valid-type]


class ChangeInput(Struct, frozen=True):
    """A `POST /api/practice-changes` body. No sites / organisations = everyone."""

    title: Title
    body: Body
    effective_from: Day
    sites: Codes = ()
    organisations: Codes = ()


class AudienceInput(Struct, frozen=True):
    """Sites and organisations narrow each other; `staff_ids` add people; nothing = everyone."""

    sites: Codes = ()
    organisations: Codes = ()
    staff_ids: Annotated[tuple[IdItem, ...], Meta(max_length=10_000), Items(max_items=10_000, dedupe=True)] = ()


class AnnouncementInput(Struct, frozen=True):
    """A `POST /api/announcements` body; `send_at` in the past means now."""

    subject: Title
    body: Body
    audience: AudienceInput
    channels: Annotated[tuple[Channel, ...], Meta(min_length=1, max_length=2),
                        Items(max_items=2, empty="must name at least one channel", dedupe=True)]
    send_at: DateTime | None = None

    @staticmethod
    def cross_check(values: dict[str, Any], fail: Callable[[str, str], None]) -> None:
        channels, subject, body = values.get("channels"), values.get("subject"), values.get("body")
        if not channels or SMS not in channels or body is None:
            return
        texts = body.as_dict()
        if any(len(t) > SMS_BODY_MAX for t in texts.values()):
            fail("body", f"must be at most {SMS_BODY_MAX} characters when sent by SMS")
        elif subject is not None:
            # The SMS carries the subject and the body (templates/*/announcement-sms.txt); a dash or
            # quote makes it UCS-2, so count parts as the channel will, before accepting anything.
            titles = subject.as_dict()
            for language, text in texts.items():
                encoding, parts = count_parts(f"{titles.get(language) or titles.get('fi', '')}\n{text}".strip())
                if parts > MAX_SMS_PARTS:
                    fail(f"body.{language}", f"with the subject, needs {parts} {encoding} SMS parts; at most {MAX_SMS_PARTS} are sent")


class DigestRunInput(Struct, frozen=True):
    """A `POST /api/digests/run` body (or none): which week, else the current one."""

    week: Week | None = None
