"""Rendering a `Letter` to an A4 PDF with fpdf2 (pure Python, from PyPI alone).

Layout: sender block top left, date and reference top right, the recipient's name and address
where a window envelope shows them (SFS 2487: 25 mm from the left, 50 mm from the top), the
title, the text, and on every page a footer with the sender's contact details and the page
number. DejaVu Sans (subset, `fonts/`) is embedded, so Š, Ž, é, ø, Cyrillic and Greek print;
a character outside the font prints as "?" instead of failing the letter. One font style only:
each embedded style costs ~20 ms per letter, so headings stand out by size.

`render_pdf` is a plain function (no I/O, no event loop): the benchmark calls it directly and
the backends run it in a thread.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from fpdf import FPDF

from channels.letter.model import Letter, RenderedLetter

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FAMILY = "DejaVuLetter"
FONT_FILE = FONT_DIR / "DejaVuSans-Letter.ttf"

# Geometry in millimetres.
LEFT, RIGHT, TOP = 25.0, 20.0, 15.0
RIGHT_COLUMN_X = 125.0
ADDRESS_Y = 50.0
ADDRESS_WIDTH = 85.0
CONTENT_Y = 95.0
BOTTOM = 25.0
BODY_SIZE = 10.5
LINE = 5.2
PARAGRAPH_GAP = 2.8


class _LetterPdf(FPDF):
    """FPDF with the letter's footer; fpdf2 calls `footer` on every page."""

    def __init__(self, letter: Letter, printable: "_Printable") -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.letter = letter
        self.printable = printable

    def footer(self) -> None:
        letter = self.letter
        self.set_y(-BOTTOM + 8)
        self.set_draw_color(160, 160, 160)
        self.line(LEFT, self.get_y(), self.w - RIGHT, self.get_y())
        self.set_y(self.get_y() + 1.5)
        self.set_font(FONT_FAMILY, "", 8)
        contact = [letter.sender.name]
        if letter.sender.phone:
            contact.append(f"{letter.labels.phone} {letter.sender.phone}")
        if letter.sender.email:
            contact.append(letter.sender.email)
        width = self.w - LEFT - RIGHT
        self.cell(width * 0.75, 4, self.printable(" · ".join(contact)))
        # fpdf2 replaces the alias "{nb}" with the page count when the document is finished.
        page = letter.labels.page.replace("{page}", str(self.page_no())).replace("{pages}", self.str_alias_nb_pages)
        self.cell(width * 0.25, 4, self.printable(page), align="R")


class _Printable:
    """Makes text printable with the embedded font: NFC, and '?' for what the font lacks.

    NFC first, so that a name sent as "S" + combining caron prints as one "Š". Replacing
    uncovered characters ourselves also keeps fpdf2 from logging them (they may be a name).
    """

    def __init__(self, covered: set[int]) -> None:
        self.covered = covered

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        return "".join(c if ord(c) in self.covered or c == "\n" else "?" for c in text)


def render_pdf(letter: Letter) -> RenderedLetter:
    """Lay out `letter` on A4 pages and return the PDF bytes and the page count."""
    pdf = _LetterPdf(letter, _Printable(set()))
    pdf.add_font(FONT_FAMILY, "", str(FONT_FILE))
    pdf.printable = _Printable(set(pdf.fonts[FONT_FAMILY.lower()].cmap))
    text = pdf.printable
    pdf.set_lang(letter.language)
    pdf.set_title(text(letter.title))
    pdf.set_author(text(letter.sender.name))
    pdf.set_creator("notifier")
    pdf.set_margins(LEFT, TOP, RIGHT)
    pdf.set_auto_page_break(True, margin=BOTTOM)
    pdf.add_page()
    width = pdf.w - LEFT - RIGHT

    # Sender block, top left.
    pdf.set_xy(LEFT, TOP)
    pdf.set_font(FONT_FAMILY, "", 11)
    pdf.multi_cell(RIGHT_COLUMN_X - LEFT - 5, 5, text(letter.sender.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 9)
    sender_lines = list(letter.sender.address.lines()) if letter.sender.address else []
    if letter.sender.phone:
        sender_lines.append(f"{letter.labels.phone} {letter.sender.phone}")
    if letter.sender.email:
        sender_lines.append(letter.sender.email)
    for line in sender_lines:
        pdf.cell(RIGHT_COLUMN_X - LEFT - 5, 4.2, text(line), new_x="LMARGIN", new_y="NEXT")

    # Date and reference, top right.
    pdf.set_xy(RIGHT_COLUMN_X, TOP)
    for label, value in ((letter.labels.date, letter.date), (letter.labels.reference, letter.reference)):
        pdf.set_x(RIGHT_COLUMN_X)
        pdf.set_font(FONT_FAMILY, "", 8)
        pdf.cell(pdf.w - RIGHT - RIGHT_COLUMN_X, 3.8, text(label), new_x="LEFT", new_y="NEXT")
        pdf.set_font(FONT_FAMILY, "", 10)
        pdf.cell(pdf.w - RIGHT - RIGHT_COLUMN_X, 5, text(value), new_x="LEFT", new_y="NEXT")

    # Recipient, where a window envelope shows it.
    pdf.set_xy(LEFT, ADDRESS_Y)
    pdf.set_font(FONT_FAMILY, "", 11)
    recipient_lines = [letter.recipient.name]
    if letter.recipient.address:
        recipient_lines += letter.recipient.address.lines()
    for line in recipient_lines:
        pdf.multi_cell(ADDRESS_WIDTH, 5, text(line), new_x="LMARGIN", new_y="NEXT")

    # Title and text.
    pdf.set_xy(LEFT, max(CONTENT_Y, pdf.get_y() + 10))
    pdf.set_font(FONT_FAMILY, "", 14)
    pdf.multi_cell(width, 7, text(letter.title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(FONT_FAMILY, "", BODY_SIZE)
    for paragraph in letter.paragraphs:
        pdf.multi_cell(width, LINE, text(paragraph), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(PARAGRAPH_GAP)

    data = bytes(pdf.output())
    return RenderedLetter(data=data, pages=pdf.page_no())
