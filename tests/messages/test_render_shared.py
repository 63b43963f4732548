"""The digest rendered once per shared content and filled in per reader (`render.PERSONAL_FIELDS`)
is byte for byte the digest rendered in full, whatever the names and links hold."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from notifier.messages.render import Renderer
from notifier.resources import LOCALE_DIR, TEMPLATE_DIR
from notifier.staff.model import PracticeChange, StaffMember
from notifier.staff.planning import DigestLinks, DigestSelection, plan_digest

RENDERER = Renderer(TEMPLATE_DIR, LOCALE_DIR, ZoneInfo("Europe/Helsinki"))
POSTED = datetime(2026, 11, 30, 8, tzinfo=timezone.utc)
CHANGES = (
    PracticeChange("c-1", {"fi": "Uusi lomake", "sv": "Ny blankett"}, {"fi": "Käytä uutta.\n\nhttps://intra.example/ohje", "sv": "Använd den nya."},
                   date(2026, 12, 7), POSTED),
    PracticeChange("c-2", {"fi": "Salon alkuinfot"}, {"fi": "Torstaisin klo 9 & <b>aina</b>."}, date(2026, 12, 10), POSTED, sites=("salo",)),
    PracticeChange("c-0", {"fi": "Vanha muutos", "sv": "Gammal ändring"}, {"fi": "Muista tämä.", "sv": "Kom ihåg."},
                   date(2026, 11, 16), POSTED - timedelta(weeks=2)),
)


def context(name: str, language: str, link: str, message_id: str = "m-1") -> dict:
    member = StaffMember("ST-1", name, "a@tyollisyysalue.example", language, "te-office", "salo", nonce="n1")
    links = DigestLinks(preferences=f"https://n.example/preferences/{link}", unsubscribe=f"https://n.example/unsubscribe/{link}x",
                        acknowledge={c.id: f"https://n.example/acknowledge/{link}{c.id}" for c in CHANGES})
    planned = plan_digest(member, DigestSelection(new=CHANGES[:2], earlier=CHANGES[2:]), "2026-W49", links)
    assert planned is not None
    return {**planned.context, "message_id": message_id, "public_url": "https://n.example"}


def same(name: str, language: str, link: str, renderer: Renderer = RENDERER) -> None:
    ctx = context(name, language, link)
    assert renderer.email("digest", language, ctx) == renderer.render_email("digest", language, ctx)


def test_every_reader_gets_the_full_rendering_of_their_own_digest():
    renderer = Renderer(TEMPLATE_DIR, LOCALE_DIR, ZoneInfo("Europe/Helsinki"))
    for language in ("fi", "sv"):
        for name, link in [("Tiina Turunen", "abc.def_1-2"), ("O'Brien & <Söderberg> \"Ö\"", "q?a=1&b=<2>"),
                           ("  Välilyönti  ", " x "), ("%(name)s {{ name }}", "")]:
            same(name, language, link, renderer)
    # one rendering per language served them all (names and links are not part of what is shared)
    assert len(renderer._shared) == 2


def test_a_context_holding_a_placeholder_character_is_rendered_in_full():
    same("Nimi \ue000" + "0\ue001", "fi", "\ue0001\ue001")  # personal values: filled in as they are
    ctx = context("Tiina", "fi", "t")
    ctx["groups"][0]["changes"][0]["body"] = "keho \ue0000\ue001"
    assert RENDERER.email("digest", "fi", ctx) == RENDERER.render_email("digest", "fi", ctx)


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=30), link=st.text(max_size=20), language=st.sampled_from(["fi", "sv"]))
def test_shared_rendering_equals_full_rendering(name: str, link: str, language: str):
    same(name, language, link)
