"""Templates and catalogs keep to templates/GLOSSARY.md: no closed bodies, no trial, no certain consequence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]

#: (pattern, why) for every text. Case-insensitive; `\b` keeps "För många försök" (attempts) legal.
AVOID = [
    (r"\bTE-(toimisto|byrå|palvelu|tjänst|office)\w*", "TE offices closed on 31.12.2024: name the authority"),
    (r"\bELY-keskus\w*|\bNTM-central\w*", "ELY centres are elinvoimakeskus / livskraftscentral since 1.1.2026"),
    (r"arbetskraftsbyrå\w*", "not a Finnish authority"),
    (r"\bkokeilu\w*", "this is a service, not a trial (kokeilu)"),
    (r"\bförsöke(t|ts)\b|sysselsättningsförsök\w*", "this is a service, not a trial (försök)"),
    (r"\bperineet\b", "'perineet' means 'inherited': peruneet (tilauksen)"),
    (r"\bsoittopyyn\w*", "a staff list of people to call is a soittolista"),
    (r"\bpakollis\w*", "the glossary's term is velvoittava"),
    (r"\btjänsteleverantör\w*", "the glossary's term is serviceproducent"),
    (r"\bklient\w*", "the glossary's term is kund"),
    (r"\binfotillfälle\w*", "the glossary's term is startinfo"),
    (r"\bKela\b|\bFPA\b|työttömyyskassa\w*|arbetslöshetskassa\w*", "clients no longer tell Kela or their fund"),
]
#: Finnish texts address the client with "sinä".
AVOID_FI = [(r"(?-i:\b(te|teidän|teille|teitä|teidät)\b)|\btunnuksenne\b", "use sinä, never te")]


def certain_consequences(text: str) -> list[str]:
    """Every 'vaikuttaa' / 'påverka' not within two words after 'voi(vat)' / 'kan'."""
    found = []
    for m in re.finditer(r"\b(vaikutta\w*|påverka\w*)", text, re.IGNORECASE):
        before = re.findall(r"\w+", text[max(0, m.start() - 40):m.start()])[-3:]
        if not {w.lower() for w in before} & {"voi", "voivat", "kan"}:
            found.append(text[max(0, m.start() - 40):m.end()].replace("\n", " "))
    return found


def problems(text: str, language: str | None) -> list[str]:
    rules = AVOID + (AVOID_FI if language == "fi" else [])
    out = [f"{m.group(0)!r}: {why}" for pattern, why in rules for m in re.finditer(pattern, text, re.IGNORECASE)]
    return out + [f"{c!r}: a consequence is 'voi vaikuttaa' / 'kan påverka'" for c in certain_consequences(text)]


def template_files() -> list[Path]:
    return sorted(p for p in (ROOT / "templates").rglob("*") if p.suffix in (".txt", ".html"))


def _language(path: Path) -> str | None:
    parts = path.relative_to(ROOT / "templates").parts
    return parts[0] if parts[0] in ("fi", "sv") else None


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_template_uses_no_avoided_term(path):
    assert not problems(path.read_text(encoding="utf-8"), _language(path))


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_catalog_uses_no_avoided_term(language):
    with (ROOT / "locale" / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    found = {m.id: problems(m.string, language) for m in catalog if m.id and isinstance(m.string, str)}
    assert not {k: v for k, v in found.items() if v}


@pytest.mark.parametrize("text,language", [
    ("TE-toimisto on ohjannut sinut kokeilun palveluun.", "fi"),
    ("TE-byrån har hänvisat dig till sysselsättningsförsöket.", "sv"),
    ("Muuten poissaolo vaikuttaa työttömyysetuuteesi.", "fi"),
    ("Annars påverkar frånvaron din arbetslöshetsförmån.", "sv"),
    ("Tiedotteet tavoittavat myös ne, jotka ovat perineet viikkokoosteen.", "fi"),
    ("Soittopyynnöt: alkuinfo", "fi"),
    ("Lyhyt tunnus tai oma tunnuksenne.", "fi"),
    ("Kerro etuuden maksajallesi (Kela tai työttömyyskassasi).", "fi"),
    ("Koordinatorn på ELY-keskus skickar.", "sv"),
])
def test_the_checker_finds_what_the_issue_found(text, language):
    assert problems(text, language)


@pytest.mark.parametrize("text,language", [
    ("Jos et tule etkä kerro pätevää syytä, se voi vaikuttaa työttömyysetuuteesi.", "fi"),
    ("Om du inte deltar och inte har ett giltigt skäl, kan det påverka din arbetslöshetsförmån.", "sv"),
    ("För många försök. Försök igen om en timme.", "sv"),
])
def test_the_checker_lets_good_texts_through(text, language):
    assert not problems(text, language)
