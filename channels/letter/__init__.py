"""The letter channel: the referral info letter (and other letters) as a PDF, posted by hand from
the outbox or sent through Suomi.fi Messages (electronic, or printed and posted by Posti).

`render_pdf(letter)` is a plain function (the benchmark calls it); `OutboxLetter` and
`SuomiFiLetter` are the two backends behind the channel interface in `channels/base.py`.
"""

from channels.letter.model import Letter, LetterLabels, LetterParty, PostalAddress, RenderedLetter
from channels.letter.outbox import OutboxLetter
from channels.letter.pdf import render_pdf
from channels.letter.suomifi import PostiMessaging, SuomiFiClient, SuomiFiEvent, SuomiFiLetter

__all__ = [
    "Letter", "LetterLabels", "LetterParty", "PostalAddress", "RenderedLetter",
    "OutboxLetter", "render_pdf",
    "PostiMessaging", "SuomiFiClient", "SuomiFiEvent", "SuomiFiLetter",
]
