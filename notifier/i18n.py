"""Languages: Babel catalogs and Finnish/Swedish date formats.

Catalogs are the `.po` files under `locale/`; they are compiled in memory when loaded, so there
is no build step to forget. `pybabel extract/update` keeps them in step with the templates
(README, "Translations").
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("fi", "sv")
#: Babel locales: plain `sv` would format dates the Sweden way.
BABEL_LOCALES = {"fi": "fi", "sv": "sv_FI"}
_DATETIME_PATTERNS = {"fi": "EEE d.M.yyyy 'klo' H.mm", "sv": "EEE d.M.yyyy 'kl.' H.mm"}
_DATE_PATTERNS = {"fi": "EEE d.M.yyyy", "sv": "EEE d.M.yyyy"}
_TIME_PATTERNS = {"fi": "H.mm", "sv": "H.mm"}


def N_(message: str) -> str:
    """Marks a msgid for `pybabel extract` where it is written; translated when the page is rendered."""
    return message


def load_translations(locale_dir: Path, language: str) -> Translations:
    po_path = locale_dir / language / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as f:
        catalog = read_po(f, locale=BABEL_LOCALES[language])
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain="messages")


#: The formatting below is cached: a digest or a kickoff fan-out formats the same few dates for
#: thousands of people, and Babel's pattern formatting costs tens of microseconds each time. The
#: keys are (instant, language, zone) and (day, language): equal instants format alike.
_CACHE = 4096


@lru_cache(maxsize=_CACHE)
def format_when(value: datetime, language: str, tz: ZoneInfo) -> str:
    """`to 3.12.2026 klo 9.00` / `tors 3.12.2026 kl. 9.00`, in local time."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return format_datetime(value.astimezone(tz), _DATETIME_PATTERNS[language], locale=BABEL_LOCALES[language])


def format_day(value: date | datetime, language: str, tz: ZoneInfo | None = None) -> str:
    if isinstance(value, datetime):
        if tz is not None:
            value = value.astimezone(tz)
        value = value.date()
    return _format_day(value, language)


@lru_cache(maxsize=_CACHE)
def _format_day(day: date, language: str) -> str:
    """Cached by (date, language): a digest shows the same few dates to everyone, and Babel's
    pattern formatting is slow. Keyed by plain dates only (two equal aware datetimes can fall on
    different local days)."""
    return format_date(day, _DATE_PATTERNS[language], locale=BABEL_LOCALES[language])


@lru_cache(maxsize=_CACHE)
def format_time(value: datetime, language: str, tz: ZoneInfo) -> str:
    return format_datetime(value.astimezone(tz), _TIME_PATTERNS[language], locale=BABEL_LOCALES[language])
