"""The README and docs/ stand on their own: every relative link points at a file in the repository."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_relative_links_stay_inside_the_repository_and_exist():
    files = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "templates" / "GLOSSARY.md"]
    checked = 0
    for doc in files:
        text = doc.read_text()
        assert "../shared" not in text and "PILOT.md" not in text, doc
        for target in LINK.findall(text):
            if re.match(r"^(https?:|mailto:|#)", target):
                continue
            path = (doc.parent / target.split("#", 1)[0]).resolve()
            assert path.is_relative_to(REPO) and path.exists(), (doc.name, target)
            checked += 1
    assert checked >= 2  # README -> docs/DOMAIN.md and back, at least
