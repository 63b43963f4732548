"""What a letter is, as the letter channel's backends receive it: plain, already-translated data.

Composition (`notifier/compose.py`, `notifier/letters.py`) fills a `Letter` from a stored message;
`pdf.render_pdf` lays it out; the backends (`outbox`, `suomifi`) carry it. Everything here except
the ids and labels is personal data: it is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PostalAddress:
    street: str
    postal_code: str
    city: str
    country: str = "FI"  # ISO 3166-1 alpha-2
    country_name: str = ""  # printed as the last line when the country is not Finland

    def lines(self) -> tuple[str, ...]:
        """The address as Posti wants it on an envelope: post office in capitals, country last."""
        out = [line.strip() for line in self.street.splitlines() if line.strip()]
        out.append(f"{self.postal_code} {self.city.upper()}")
        if self.country.upper() != "FI":
            out.append((self.country_name or self.country).upper())
        return tuple(out)


@dataclass(frozen=True)
class LetterParty:
    """The sender or the recipient of a letter."""

    name: str
    address: PostalAddress | None = None
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class LetterLabels:
    """The few words on a letter that are not its text, in the letter's language."""

    date: str  # "Päivämäärä"
    reference: str  # "Viite"
    page: str  # "Sivu {page} / {pages}": `{page}` and `{pages}` are filled in per page
    phone: str  # "puh."


@dataclass(frozen=True)
class Letter:
    message_id: str
    template: str
    language: str
    title: str
    paragraphs: tuple[str, ...]
    date: str  # already formatted in the letter's language
    sender: LetterParty
    recipient: LetterParty
    labels: LetterLabels
    filename: str = "letter.pdf"  # shown to the recipient in Suomi.fi
    personal_id: str | None = None  # for Suomi.fi: whose mailbox

    @property
    def body_text(self) -> str:
        """The letter's text as plain text, for the electronic Suomi.fi message."""
        return "\n\n".join(self.paragraphs)

    @property
    def reference(self) -> str:
        """A short, non-personal reference printed on the letter (the start of the message id)."""
        return self.message_id.split("-")[0].upper()


@dataclass(frozen=True)
class RenderedLetter:
    data: bytes
    pages: int
