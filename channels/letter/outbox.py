"""The letter outbox: each letter as a PDF, ready for manual printing and posting.

`<dir>/<message_id>.pdf` is the letter; `<dir>/<message_id>.json` describes it without personal
data (recipient masked, language, pages). Both are written atomically, the PDF first, so a
`.json` file means its PDF is complete.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from channels.outbox import OutboxChannel, write_atomic
from channels.letter.model import Letter, LetterParty, RenderedLetter


def masked_recipient(party: LetterParty) -> dict[str, Any]:
    """Enough to tell letters apart in a folder, not enough to tell who they go to."""
    initials = ". ".join(word[:1] for word in party.name.split() if word[:1].isalpha())
    out: dict[str, Any] = {"name": f"{initials}." if initials else ""}
    if party.address is not None:
        out["postal_code"] = party.address.postal_code[:2] + "*" * max(len(party.address.postal_code) - 2, 0)
        out["country"] = party.address.country
    return out


def describe(letter: Letter, rendered: RenderedLetter) -> dict[str, Any]:
    return {
        "message_id": letter.message_id,
        "template": letter.template,
        "language": letter.language,
        "pages": rendered.pages,
        "bytes": len(rendered.data),
        "pdf": f"{letter.message_id}.pdf",
        "recipient": masked_recipient(letter.recipient),
    }


def write_letter(directory: Path, letter: Letter, rendered: RenderedLetter | None = None) -> RenderedLetter:
    """The letter's PDF (rendered here unless the caller has it already) and its description."""
    if rendered is None:
        from channels.letter.pdf import render_pdf  # fpdf2 when the first letter is written (`__init__.py`)

        rendered = render_pdf(letter)
    write_atomic(directory / f"{letter.message_id}.pdf", rendered.data)
    meta = json.dumps(describe(letter, rendered), ensure_ascii=False, indent=2).encode()
    write_atomic(directory / f"{letter.message_id}.json", meta)
    return rendered


class OutboxLetter(OutboxChannel):
    """Writes letters to `<dir>`; rendering runs in a thread so the worker's loop keeps going."""

    name = "letter"

    async def send(self, message_id: str, payload: Letter) -> str | None:
        await asyncio.to_thread(write_letter, self.directory, payload)
        return None
