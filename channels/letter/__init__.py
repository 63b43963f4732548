"""The letter channel: the referral info letter (and other letters) as a PDF, posted by hand from
the outbox or sent through Suomi.fi Messages (electronic, or printed and posted by Posti).

`render_pdf(letter)` is a plain function (the benchmark calls it); `OutboxLetter` and
`SuomiFiLetter` are the two backends behind the channel interface in `channels/base.py`.
"""

from typing import Any

from channels.letter.model import Letter, LetterLabels, LetterParty, PostalAddress, RenderedLetter
from channels.letter.outbox import OutboxLetter
from channels.letter.suomifi import PostiMessaging, SuomiFiClient, SuomiFiEvent, SuomiFiLetter

__all__ = [
    "Letter", "LetterLabels", "LetterParty", "PostalAddress", "RenderedLetter",
    "OutboxLetter", "render_pdf",
    "PostiMessaging", "SuomiFiClient", "SuomiFiEvent", "SuomiFiLetter",
]


def __getattr__(name: str) -> Any:
    """`render_pdf` is imported when first used (PEP 562): fpdf2 with Pillow and fontTools is
    ≈ 30 MB in every process that imports it, and web processes never render a letter, nor do
    workers until their first letter."""
    if name == "render_pdf":
        from channels.letter.pdf import render_pdf

        return render_pdf
    raise AttributeError(name)
