"""Letters: composing a `Letter` from a template, and following Suomi.fi Messages' status events.

`compose_letter` turns any e-mail template (`referral`, `kickoff-invitation`, …) into a letter in
the recipient's language: the template's own text under the letter layout, the sender block from
the event's authority (employment area or municipality) and the configured office address, today's date (Babel, the letter's
locale) and the recipient's name and address. `channels.letter.render_pdf` lays it out.

`poll_suomifi_events` is the scheduled job's body: it reads `GET /v2/events` from the stored
continuation token and moves messages on (created / sent for printing → `sent`; read / receipt
confirmed → `delivered`; returned to sender → `permanent-failure`). Moves are compare-and-set,
so reading an event twice, or out of order, changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from babel import Locale
from babel.dates import format_date
from redis.asyncio import Redis

from channels.letter import Letter, LetterLabels, LetterParty, PostalAddress, SuomiFiClient

from notifier.messages import status as st
from notifier.casework.addressing import Address
from notifier.app.config import Settings
from notifier.i18n import BABEL_LOCALES
from notifier.messages.render import Renderer
from notifier.messages.store import MessageStore
from notifier.messages.keys import CONTINUATION_KEY, POLL_LOCK_KEY

log = logging.getLogger("notifier.letters")


#: Suomi.fi Messages event type -> (status, reason). Types not listed change nothing.
EVENT_MOVES: dict[str, tuple[str, str]] = {
    "Electronic message created": (st.SENT, ""),
    "Paper mail created": (st.SENT, ""),
    "Sent for printing and enveloping": (st.SENT, ""),
    "Electronic message read": (st.DELIVERED, ""),
    "Receipt confirmed": (st.DELIVERED, ""),
    "Posti: receipt confirmed": (st.DELIVERED, ""),
    "Posti: returned to sender": (st.PERMANENT_FAILURE, "returned-to-sender"),
}


def letter_date(today: date, language: str) -> str:
    """`30. marraskuuta 2026` / `30 november 2026`: a letter's date, written out."""
    return format_date(today, "long", locale=BABEL_LOCALES[language])


def postal_address(address: Mapping[str, Any] | None, language: str) -> PostalAddress | None:
    parsed = Address.from_dict(dict(address) if address else None)
    if parsed is None:
        return None
    country_name = ""
    if parsed.country != "FI":
        country_name = Locale.parse(BABEL_LOCALES[language]).territories.get(parsed.country, parsed.country)
    return PostalAddress(parsed.street, parsed.postal_code, parsed.city, parsed.country, country_name)


def sender_party(settings: Settings, office: Mapping[str, Any] | None, language: str = "fi") -> LetterParty:
    """The authority the event names (else the configured one), at the configured address; in a
    Swedish letter the address's Swedish forms (`NOTIFIER_OFFICE_STREET_SV`, `_CITY_SV`) when set."""
    s = settings
    office = office or {}
    address = None
    street = (s.office_street_sv if language == "sv" else "") or s.office_street
    city = (s.office_city_sv if language == "sv" else "") or s.office_city
    if street and s.office_postal_code and city:
        address = PostalAddress(street, s.office_postal_code, city)
    return LetterParty(
        name=str(office.get("name") or s.office.name.text(language)),
        address=address,
        phone=str(office.get("phone") or s.office.phone or ""),
        email=str(office.get("email") or s.office.email or ""),
    )


def compose_letter(
    renderer: Renderer,
    settings: Settings,
    *,
    message_id: str,
    template: str,
    language: str,
    context: dict[str, Any],
    recipient: Mapping[str, Any],
    today: date | None = None,
) -> Letter:
    """Any e-mail template as a letter to `recipient` ({name, address?, personal_id?})."""
    content = renderer.letter(template, language, context)
    labels = renderer.letter_labels(language)
    today = today or datetime.now(settings.timezone).date()
    return Letter(
        message_id=message_id,
        template=template,
        language=language,
        title=content.title,
        paragraphs=content.paragraphs,
        date=letter_date(today, language),
        sender=sender_party(settings, context.get("office"), language),
        recipient=LetterParty(name=str(recipient.get("name") or ""),
                              address=postal_address(recipient.get("address"), language)),
        labels=LetterLabels(date=labels["date"], reference=labels["reference"], page=labels["page"],
                            phone=labels["phone"]),
        filename=f"{labels['filename']}.pdf",
        personal_id=recipient.get("personal_id") or None,
    )


# -- Suomi.fi Messages status events ---------------------------------------------------------------


@dataclass(frozen=True)
class PollResult:
    pages: int = 0
    events: int = 0
    moved: int = 0


async def poll_suomifi_events(
    client: SuomiFiClient,
    store: MessageStore,
    redis: Redis,
    *,
    service_id: str | None = None,
    max_pages: int = 50,
    lock_seconds: int = 120,
) -> PollResult:
    """Read new events page by page and move our messages on; the token is saved after each page.

    One poller at a time (a Redis lock): arq's cron may start the job on several workers. A page
    whose moves were made but whose token was not saved is read again next time, harmlessly.
    """
    if not await redis.set(POLL_LOCK_KEY, "1", nx=True, ex=lock_seconds):
        return PollResult()
    pages = seen = moved = 0
    try:
        raw = await redis.get(CONTINUATION_KEY)
        token = raw.decode() if raw else None
        while pages < max_pages:
            events, next_token = await client.events(token)
            pages += 1
            seen += len(events)
            for event in events:
                move = EVENT_MOVES.get(event.type)
                if move is None or not event.external_id:
                    continue
                if service_id and event.service_id and event.service_id != service_id:
                    continue
                result = await store.move(event.external_id, move[0], move[1], provider_ref=event.message_id or "")
                if result is not None and result.moved:
                    moved += 1
                    log.info("message %s %s (suomifi event)", event.external_id, move[0])
            if next_token:
                await redis.set(CONTINUATION_KEY, next_token)
                token = next_token
            if not events:
                break
    finally:
        await redis.delete(POLL_LOCK_KEY)
    if seen:
        log.info("suomifi events: %d read on %d pages, %d messages moved", seen, pages, moved)
    return PollResult(pages, seen, moved)
