"""Make the letter font: DejaVu Sans cut down to the scripts names are written in.

Not run at import time: the subset font is committed beside this script. Run it again only to
change the coverage:

    python3 channels/letter/fonts/make_subset.py /path/to/dejavu-fonts-ttf-2.37/ttf

Why a subset, and only one style: fpdf2 parses and re-subsets every font for every document; the
full DejaVu Sans (6,000+ glyphs) costs ~60 ms per style, the subset ~10 ms, which keeps one
letter well under 100 ms (emphasis is by size, not by a bold face, for the same reason). Names
in the Finnish population register are written in Latin letters; Greek and Cyrillic are kept
for addresses abroad. Anything else prints as "?" (see `channels/letter/pdf.py`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

#: Unicode blocks kept (inclusive ranges).
RANGES = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x024F),  # Latin-1 Supplement, Latin Extended-A and -B (Š Ž é ø …)
    (0x02B0, 0x036F),  # spacing modifier letters, combining diacritical marks
    (0x0370, 0x03FF),  # Greek
    (0x0400, 0x052F),  # Cyrillic and its supplement
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese, Welsh …)
    (0x2000, 0x206F),  # general punctuation (– — ‘ ’ “ ” …)
    (0x20A0, 0x20CF),  # currency symbols (€)
    (0x2100, 0x214F),  # letterlike symbols (№ ™)
    (0x2212, 0x2212),  # minus sign
    (0xFFFD, 0xFFFD),  # replacement character
)
FILES = ("DejaVuSans.ttf",)


def make_subset(source: Path, target: Path) -> None:
    options = subset.Options()
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]
    font = TTFont(source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes={c for lo, hi in RANGES for c in range(lo, hi + 1)})
    subsetter.subset(font)
    font.save(target)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    here = Path(__file__).resolve().parent
    for name in FILES:
        make_subset(Path(argv[1]) / name, here / name.replace(".ttf", "-Letter.ttf"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
