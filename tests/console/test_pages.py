"""The coordinators' console, server side: sign-in by one-time e-mailed link, sessions, CSRF, and
every page and form (happy path, errors next to the field with the input kept, refusals).
Real Redis, the real app and worker, real HTTP with a cookie jar per "browser"."""

from __future__ import annotations

import html
import re
import time
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.support.service import Service, wait_for
from tests.support.console import (
    COORDINATOR,
    Browser,
    Browsers,
    Page,
    console_service,
    emailed_link,
    minted_link,
    sign_in_links,
)
from tests.support.kickoff import attendance, invitee, scheduled, session_start
from notifier.console.auth import COOKIE, SIGN_IN_SECONDS, ConsoleAuth
from notifier.console.keys import sign_in_key
from notifier.staff.links import ACKNOWLEDGE, Links
from notifier.staff.practice import PracticeChanges
from notifier.staff.directory import StaffDirectory
from tests.support.staff import (
    GENERAL,
    SALO_FI,
    SALO_SV,
    SIGNING_SECRET,
    TURKU_FI,
    TURKU_SV,
    local_path,
    post_change,
    put_staff,
)

HELSINKI_FMT = "%Y-%m-%dT%H:%M"


@pytest.fixture
async def browsers():
    b = Browsers()
    yield b
    await b.close()


async def with_staff(svc: Service) -> None:
    for staff_id, body in (("T-1", TURKU_FI), ("T-2", TURKU_SV), ("S-1", SALO_FI), ("S-2", SALO_SV)):
        await put_staff(svc, staff_id, body)


async def message_count(svc: Service) -> int:
    return len([k async for k in svc.runtime.redis.scan_iter("notifier:msg:*") if not k.endswith(b":history")])


def outbox_mails(svc: Service) -> list[Any]:
    folder = svc.outbox / "email"
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in folder.glob("*.eml")] if folder.exists() else []


def mails_to(svc: Service, address: str) -> list[Any]:
    return [m for m in outbox_mails(svc) if m["To"].addresses[0].addr_spec == address]


def text_of(msg: Any) -> str:
    return msg.get_body(("plain",)).get_content()


def visible(page: Page) -> str:
    """The page's text without tags (roughly what a person reads)."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)))


def hidden(page: Page, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert m, name
    return m.group(1)


def cookie_header(page: Page) -> str:
    return next(v for v in page.headers.getall("Set-Cookie") if v.startswith(COOKIE + "="))


# -- signing in -------------------------------------------------------------------------------------


async def test_sign_in_page_in_finnish_and_swedish_sets_only_a_safe_cookie(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    b = browsers.new(svc)
    page = await b.get("/console/sign-in")
    assert page.status == 200 and '<html lang="fi">' in page.text
    assert "Kirjaudu koordinaattorien hallintanäkymään" in page.text and 'name="csrf"' in page.text
    assert 'method="post"' in page.text and 'name="viewport"' in page.text
    cookie = cookie_header(page)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie and "Secure" not in cookie
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    sv = await b.get("/console/sign-in?lang=sv")
    assert '<html lang="sv">' in sv.text and "Logga in i koordinatorernas administrationsvy" in sv.text
    # The console's pages all send the visitor here first.
    for path in ("/console", "/console/practice-changes", "/console/announcements/new", "/console/messages",
                 "/console/staff"):
        assert (await browsers.new(svc).get(path)).url.endswith("/console/sign-in"), path


async def test_cookie_is_secure_when_the_service_is_on_https(start_service, browsers):
    svc = await console_service(start_service, worker=False, public_url="https://notifier.example")
    page = await browsers.new(svc).get("/console/sign-in")
    assert "Secure" in cookie_header(page)


async def test_coordinator_signs_in_once_with_the_emailed_link(start_service, browsers):
    svc = await console_service(start_service)
    b = browsers.new(svc)
    link = await emailed_link(svc, b, COORDINATOR)
    [mail] = mails_to(svc, COORDINATOR)
    assert mail["Subject"] == "Kirjaudu koordinaattorien hallintanäkymään"
    assert "15 minuutin" in text_of(mail)
    nonce = ConsoleAuth.of(svc.runtime).link_nonce(link.rsplit("/", 1)[1])
    assert 0 < await svc.runtime.redis.ttl(sign_in_key(nonce or "")) <= SIGN_IN_SECONDS
    # Opening the link (as a mail scanner would) signs nobody in and does not use it up.
    for _ in range(2):
        page = await b.get(link)
        assert page.status == 200 and COORDINATOR in page.text and "Kirjaudu" in page.text
    assert (await b.get("/console/practice-changes")).url.endswith("/console/sign-in")
    page = await b.post(link, allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/console/practice-changes"
    cookie = cookie_header(page)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    page = await b.get("/console/practice-changes")
    assert page.status == 200 and COORDINATOR in page.text and "Käytäntömuutokset" in page.text
    # The link is used up: for anyone, opened or posted.
    other = browsers.new(svc)
    assert (await other.get(link)).status == 404
    assert "Kirjautumislinkki ei kelpaa" in other.last.text  # type: ignore[union-attr]
    await other.get("/console/sign-in")
    page = await other.post(link)
    assert page.status == 404 and (await other.get("/console/staff")).url.endswith("/console/sign-in")


async def test_sign_in_in_swedish_gives_a_swedish_mail_and_console(start_service, browsers):
    svc = await console_service(start_service)
    b = browsers.new(svc)
    link = await emailed_link(svc, b, COORDINATOR, language="sv")
    [mail] = mails_to(svc, COORDINATOR)
    assert mail["Subject"] == "Logga in i koordinatorernas administrationsvy"
    await b.get(link)
    page = await b.post(link)
    assert '<html lang="sv">' in page.text and "Ändrade arbetssätt" in page.text


def signed_at(age_seconds: int, payload: dict[str, Any]) -> str:
    """A sign-in token made with the service's secret `age_seconds` ago."""

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    return str(URLSafeTimedSerializer(SIGNING_SECRET, salt="notifier.console-sign-in", signer=Then).dumps(payload))


async def test_expired_sign_in_link_is_refused(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    auth = ConsoleAuth.of(svc.runtime)
    for nonce in ("fresh-nonce", "stale-nonce"):
        async with svc.runtime.redis.pipeline(transaction=True) as pipe:
            auth.stage_link(pipe, nonce, COORDINATOR, "fi")
            await pipe.execute()
    stale = f"/console/sign-in/{signed_at(16 * 60, {'n': 'stale-nonce'})}"
    fresh = f"/console/sign-in/{signed_at(14 * 60, {'n': 'fresh-nonce'})}"
    b = browsers.new(svc)
    assert (await b.get(stale)).status == 404
    await b.get("/console/sign-in")
    assert (await b.post(stale)).status == 404
    assert (await b.get("/console/practice-changes")).url.endswith("/console/sign-in")
    assert (await b.get(fresh)).status == 200  # the same link 14 minutes old still works
    assert (await b.post(fresh)).url.endswith("/console/practice-changes")


async def test_forged_and_foreign_tokens_are_refused(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await with_staff(svc)
    t1 = await StaffDirectory(svc.runtime.redis, svc.runtime.store.sealer, (SIGNING_SECRET,)).get("T-1")
    assert t1 is not None
    forged = URLSafeTimedSerializer("another-secret", salt="notifier.console-sign-in").dumps({"n": "x"})
    ack_token = Links((SIGNING_SECRET,), svc.url).staff_token(ACKNOWLEDGE, t1, "change-1")  # another purpose
    b = browsers.new(svc)
    for token in (forged, ack_token, "not-a-token", "x" * 2000):
        assert (await b.get(f"/console/sign-in/{token}")).status == 404, token[:20]


async def test_staff_member_without_the_role_is_refused(start_service, browsers):
    svc = await console_service(start_service)
    await with_staff(svc)
    b = browsers.new(svc)
    await b.get("/console/sign-in")
    staff_answer = await b.post("/console/sign-in", {"email": TURKU_FI["email"], "language": "fi"})
    await b.get("/console/sign-in")
    coordinator_answer = await b.post("/console/sign-in", {"email": COORDINATOR.upper(), "language": "fi"})
    assert staff_answer.status == coordinator_answer.status == 200
    assert staff_answer.text == coordinator_answer.text  # the page does not tell who is a coordinator
    await wait_for(lambda: mails_to(svc, COORDINATOR))
    assert len(sign_in_links(svc.outbox)) == 1 and not mails_to(svc, TURKU_FI["email"])
    # A link made out to someone who is not a coordinator (or no longer is) signs nobody in.
    link = await minted_link(svc, TURKU_FI["email"])
    other = browsers.new(svc)
    await other.get(link)
    page = await other.post(link)
    assert page.status == 403 and "Hallintanäkymä on vain koordinaattoreille" in page.text
    assert (await other.get("/console/staff")).url.endswith("/console/sign-in")


async def test_sign_in_links_are_sent_at_most_once_a_minute_and_the_address_is_checked(start_service, browsers):
    svc = await console_service(start_service)
    b = browsers.new(svc)
    await b.get("/console/sign-in")
    page = await b.post("/console/sign-in", {"email": "kirsi@", "language": "fi"})
    assert page.status == 400 and page.field_error("email") == "Virhe: Anna työsähköpostiosoitteesi, esimerkiksi nimi@esimerkki.fi"
    assert page.value_of("email") == "kirsi@" and 'aria-invalid="true"' in page.text
    token = page.csrf
    for _ in range(3):
        await b.post("/console/sign-in", {"email": COORDINATOR, "language": "fi"}, csrf=token)
    await wait_for(lambda: mails_to(svc, COORDINATOR))
    assert await message_count(svc) == 1


async def test_coordinator_removed_from_the_settings_loses_the_session(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    b = await browsers.signed_in(svc)
    assert (await b.get("/console/staff")).status == 200
    later = await console_service(start_service, worker=False, coordinators=("someone.else@elinvoimakeskus.example",))
    page = await b.get(later.url + "/console/staff")
    assert page.status == 403 and "Hallintanäkymä on vain koordinaattoreille" in page.text
    assert not [k async for k in svc.runtime.redis.scan_iter("notifier:console:session:*")]
    assert (await b.get("/console/staff")).url.endswith("/console/sign-in")  # gone for good


async def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    b = await browsers.signed_in(svc)
    cookie = next(c.value for c in b.http.cookie_jar if c.key == COOKIE)
    page = await b.post("/console/sign-out")
    assert page.url.endswith("/console/sign-in?signed_out=1&lang=fi") and "Olet kirjautunut ulos" in page.text
    copy = browsers.new(svc)
    async with copy.http.get(svc.url + "/console/staff", headers={"Cookie": f"{COOKIE}={cookie}"}) as resp:
        assert str(resp.url).endswith("/console/sign-in")


async def test_console_is_unavailable_without_a_signing_secret(start_service, browsers):
    svc = await console_service(start_service, worker=False, signing_secrets=())
    page = await browsers.new(svc).get("/console/sign-in")
    assert page.status == 503 and "NOTIFIER_SIGNING_SECRET" in page.text


async def test_coordinator_chooses_the_language(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    b = await browsers.signed_in(svc)
    await b.get("/console/staff")
    page = await b.post("/console/language", {"language": "sv", "back": "/console/staff"})
    assert page.url.endswith("/console/staff") and '<html lang="sv">' in page.text and "Personalförteckning" in page.text
    page = await b.post("/console/language", {"language": "fi", "back": "//evil.example/"})
    assert page.url.endswith("/console/practice-changes") and '<html lang="fi">' in page.text


# -- CSRF -------------------------------------------------------------------------------------------


async def test_forms_without_this_sessions_csrf_token_are_refused_and_change_nothing(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await with_staff(svc)
    change_id = await post_change(svc, GENERAL)
    b = await browsers.signed_in(svc)
    someone_else = await browsers.signed_in(svc, "kalle.koordinaattori@elinvoimakeskus.example")
    await someone_else.get("/console/staff")
    foreign = someone_else.last.csrf  # type: ignore[union-attr]
    forms: list[tuple[str, dict[str, Any]]] = [
        ("/console/practice-changes/new", {"action": "post", "title_fi": "Uusi", "body_fi": "Teksti",
                                           "effective_from": "2026-12-07"}),
        (f"/console/practice-changes/{change_id}/remind", {"request_id": "r1"}),
        ("/console/announcements/new", {"action": "send", "subject_fi": "Hei", "body_fi": "Teksti",
                                        "channels": "email", "when": "now"}),
        ("/console/staff/new", {"id": "N-1", "name": "Uusi Ihminen", "email": "uusi@tyollisyysalue.example",
                                "language": "fi", "organisation": "te-office", "site": "turku"}),
        ("/console/staff/T-1/edit", {"name": "Muutettu", "email": TURKU_FI["email"], "language": "fi",
                                     "organisation": "te-office", "site": "salo"}),
        ("/console/staff/T-1/digest", {"digest": "off"}),
        ("/console/language", {"language": "sv"}),
        ("/console/sign-out", {}),
    ]
    before = (await svc.api("GET", "/api/staff"))[1], (await svc.api("GET", "/api/practice-changes"))[1]
    for path, data in forms:
        for token in (None, foreign, "garbage"):
            page = await b.post(path, data, csrf=token)
            assert page.status == 403 and "Lomaketta ei voitu hyväksyä" in page.text, (path, token)
    after = (await svc.api("GET", "/api/staff"))[1], (await svc.api("GET", "/api/practice-changes"))[1]
    assert after == before and await message_count(svc) == 0
    assert (await b.get("/console/staff")).status == 200  # still signed in, still in Finnish
    assert '<html lang="fi">' in b.last.text  # type: ignore[union-attr]
    # Before sign-in too: asking for a link needs the sign-in page's token.
    anonymous = browsers.new(svc)
    await anonymous.get("/console/sign-in")
    page = await anonymous.post("/console/sign-in", {"email": COORDINATOR}, csrf=None)
    assert page.status == 403 and await message_count(svc) == 0


# -- practice changes -------------------------------------------------------------------------------


async def test_practice_changes_list_newest_first_with_acknowledgement_progress(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await with_staff(svc)
    general = await post_change(svc, GENERAL)
    salo = await post_change(svc, {**GENERAL, "title": {"fi": "Salon muutos"}, "sites": ["salo"]})
    await PracticeChanges(svc.runtime.redis).acknowledge(general, "T-2", datetime.now().astimezone())
    b = await browsers.signed_in(svc)
    page = await b.get("/console/practice-changes")
    text = visible(page)
    assert text.index("Salon muutos") < text.index("Uusi ohjauslomake")  # newest first
    rows = re.findall(r"<tr>.*?</tr>", page.text, re.S)
    salo_row = next(r for r in rows if salo in r)
    general_row = next(r for r in rows if general in r)
    assert "0 / 2" in salo_row and "Salo" in salo_row
    assert "1 / 4" in general_row and "Kaikki" in general_row and 'style="width:25%"' in general_row
    sv = await browsers.signed_in(svc, language="sv")
    page = await sv.get("/console/practice-changes")
    assert "Ny hänvisningsblankett" in page.text and "endast på finska" in page.text  # Salo's has no Swedish title


async def test_posting_a_practice_change_after_a_digest_preview_in_both_languages(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await with_staff(svc)
    b = await browsers.signed_in(svc)
    form = await b.get("/console/practice-changes/new")
    assert form.status == 200 and 'value="turku"' in form.text and 'value="provider"' in form.text
    fields = {"title_fi": "Uusi ohjauslomake", "title_sv": "Ny hänvisningsblankett",
              "body_fi": "Käytä uutta lomaketta.\n\nLisätietoja https://example.fi/ohje",
              "body_sv": "Använd den nya blanketten.", "effective_from": "7.12.2026"}
    page = await b.post("/console/practice-changes/new", [*fields.items(), ("sites", "turku"), ("action", "preview")])
    assert page.status == 200 and 'id="preview"' in page.text
    frames = [html.unescape(s) for s in re.findall(r'srcdoc="([^"]*)"', page.text)]
    assert len(frames) == 2
    week = datetime.now().astimezone().isocalendar()[1]
    assert f"Muuttuneet käytännöt, viikko {week}" in page.text and f"Ändrade arbetssätt, vecka {week}" in page.text
    assert "Uusi ohjauslomake" in frames[0] and "Toimipaikallesi tai organisaatiollesi" in frames[0]
    assert "Ny hänvisningsblankett" in frames[1] and "Gäller från och med" in frames[1]
    assert '<a href="https://example.fi/ohje">' in frames[0]  # as the digest will show it
    assert page.value_of("title_sv") == "Ny hänvisningsblankett"  # the form keeps what was typed
    assert (await svc.api("GET", "/api/practice-changes"))[1]["practice_changes"] == []  # a preview posts nothing

    page = await b.post("/console/practice-changes/new", [*fields.items(), ("sites", "turku"), ("action", "post")])
    assert re.search(r"/console/practice-changes/[0-9a-f-]{36}\?posted=1$", page.url)
    assert "Muutos on julkaistu" in page.text and "0 / 2" in page.text
    [stored] = (await svc.api("GET", "/api/practice-changes"))[1]["practice_changes"]
    assert stored["title"] == {"fi": "Uusi ohjauslomake", "sv": "Ny hänvisningsblankett"}
    assert stored["effective_from"] == "2026-12-07" and stored["sites"] == ["turku"] and stored["organisations"] == []
    assert stored["body"]["fi"] == fields["body_fi"]


async def test_practice_change_errors_are_shown_next_to_the_field_with_the_input_kept(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    b = await browsers.signed_in(svc)
    await b.get("/console/practice-changes/new")
    page = await b.post("/console/practice-changes/new", {
        "action": "post", "title_fi": "  ", "title_sv": "Rubrik <b>", "body_fi": "Teksti\n\nToinen kappale",
        "body_sv": "", "effective_from": "31.2.2026"})
    assert page.status == 400
    assert page.field_error("title_fi") == "Virhe: Kirjoita otsikko suomeksi"
    assert page.field_error("effective_from") == "Virhe: Anna oikea päivämäärä, esimerkiksi 7.12.2026"
    assert page.field_error("body_fi") is None and page.field_error("title_sv") is None
    assert page.value_of("title_sv") == "Rubrik <b>" and page.value_of("body_fi") == "Teksti\n\nToinen kappale"
    assert 'class="error-summary"' in page.text and 'href="#title_fi"' in page.text
    assert 'aria-describedby="effective_from-hint effective_from-error"' in page.text
    page = await b.post("/console/practice-changes/new", {
        "action": "preview", "title_fi": "x" * 201, "body_fi": "Teksti", "effective_from": "2026-12-07"})
    assert page.field_error("title_fi") == "Virhe: Käytä enintään 200 merkkiä" and page.value_of("title_fi") == "x" * 201
    assert (await svc.api("GET", "/api/practice-changes"))[1]["practice_changes"] == []


async def test_hostile_text_is_escaped_on_every_page(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    evil = '<script>alert("x")</script>'
    await put_staff(svc, "E-1", {**TURKU_FI, "name": f"Eve {evil}"})
    b = await browsers.signed_in(svc)
    await b.get("/console/practice-changes/new")
    page = await b.post("/console/practice-changes/new", {
        "action": "post", "title_fi": f"Otsikko {evil}", "body_fi": f"Teksti {evil} \" ' &", "effective_from": "2026-12-07"})
    assert page.status == 200
    for path in (page.url, "/console/practice-changes", "/console/staff", "/console/staff/E-1/edit",
                 "/console/announcements/new", "/console/messages?kind=client&id=" + evil):
        text = (await b.get(path)).text
        assert "<script>alert" not in text and "&lt;script&gt;" in text, path
    # In the preview frame the e-mail is escaped once as HTML and once more as an attribute.
    detail = (await b.get(page.url)).text
    frame = html.unescape(re.findall(r'srcdoc="([^"]*)"', detail)[0])
    assert "<script>alert" not in frame and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in frame


async def test_acknowledgement_table_and_a_reminder_to_those_who_have_not_read(start_service, browsers):
    svc = await console_service(start_service)
    await with_staff(svc)
    change_id = await post_change(svc, {**GENERAL, "sites": ["turku"]})
    await PracticeChanges(svc.runtime.redis).acknowledge(change_id, "T-1", datetime.now().astimezone())
    b = await browsers.signed_in(svc)
    page = await b.get(f"/console/practice-changes/{change_id}")
    captions = [visible(Page(0, c, {}, "")) for c in re.findall(r"<caption[^>]*>(.*?)</caption>", page.text, re.S)]
    assert captions == ["Palveluntuottaja, Turku: 0 / 1", "Työllisyysalue, Turku: 1 / 1"]
    assert "Sami Salonen" not in page.text  # Salo is not concerned
    assert "Lukematta: 1." in visible(page) and "Tiina Turunen" in page.text and "Sofia Lindqvist" in page.text

    request_id = hidden(page, "request_id")
    reminded = await b.post(f"/console/practice-changes/{change_id}/remind", {"request_id": request_id})
    assert "Muistutus lähetetty. Vastaanottajia: 1." in reminded.text and "vastaanottajia: 1" in reminded.text
    [mail] = await wait_for(lambda: mails_to(svc, TURKU_SV["email"]))
    assert mail["Subject"] == "Påminnelse: Ny hänvisningsblankett"
    assert "Använd den nya blanketten" in text_of(mail) and not mails_to(svc, TURKU_FI["email"])
    # The same form sent again (a double click, a reload) reminds nobody twice.
    await b.post(f"/console/practice-changes/{change_id}/remind", {"request_id": request_id}, csrf=page.csrf)
    reminders = await svc.runtime.store.find("change", change_id)
    assert len(reminders) == 1 and reminders[0].refs == {"staff": "T-2", "change": change_id,
                                                        "reminder": reminders[0].refs["reminder"]}
    # The reminder's own link records the acknowledgement; then nobody is left to remind.
    [ack_link] = re.findall(r"https?://\S+/acknowledge/\S+", text_of(mail))
    async with svc.http.post(local_path(ack_link, svc)) as resp:
        assert resp.status == 200
    page = await b.get(f"/console/practice-changes/{change_id}")
    assert "Kaikki, joita muutos koskee, ovat lukeneet sen." in page.text and "/remind" not in page.text
    assert "2 / 2" in page.text


async def test_unknown_practice_change_is_a_not_found_page(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    b = await browsers.signed_in(svc)
    page = await b.get("/console/practice-changes/no-such-change")
    assert page.status == 404 and "Ei löytynyt" in page.text


# -- announcements ----------------------------------------------------------------------------------

SALO_ANNOUNCEMENT = [("subject_fi", "Salon alkuinfo siirtyy"), ("subject_sv", "Infotillfället i Salo flyttas"),
                     ("body_fi", "Alkuinfo on torstaina klo 9."), ("body_sv", "Infotillfället är på torsdag kl. 9."),
                     ("sites", "salo"), ("channels", "email"), ("channels", "sms"), ("when", "now")]


async def preview_and_send(b: Browser, fields: list[tuple[str, str]]) -> tuple[Page, Page]:
    form = await b.get("/console/announcements/new")
    preview = await b.post("/console/announcements/new", [*fields, ("action", "preview"),
                                                          ("request_id", hidden(form, "request_id"))])
    assert preview.status == 200, preview.text
    sent = await b.post("/console/announcements/new", [*fields, ("action", "send"),
                                                       ("request_id", hidden(preview, "request_id")),
                                                       ("previewed", hidden(preview, "previewed"))])
    return preview, sent


async def test_announcement_preview_shows_who_it_reaches_in_both_languages_and_sends_nothing(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await with_staff(svc)
    b = await browsers.signed_in(svc)
    form = await b.get("/console/announcements/new")
    assert "Sami Salonen" in form.text and 'value="salo"' in form.text and "<details" in form.text
    page = await b.post("/console/announcements/new", [*SALO_ANNOUNCEMENT, ("action", "preview")])
    text = visible(page)
    assert "Vastaanottajia: 2" in text and "Sähköposteja: 2" in text and "Tekstiviestejä: 1" in text
    assert "Ei matkapuhelinnumeroa, joten ei tekstiviestiä: 1" in text  # Sami's number is a landline
    assert "Tiedote lähtee heti, kun lähetät sen." in text and "Lähetä (vastaanottajia 2)" in text
    frames = [html.unescape(s) for s in re.findall(r'srcdoc="([^"]*)"', page.text)]
    assert "Alkuinfo on torstaina klo 9." in frames[0] and "Infotillfället är på torsdag kl. 9." in frames[1]
    assert 'class="sms" lang="sv">Infotillfället i Salo flyttas' in page.text
    assert "Tekstiviestin osia: 1 (GSM-7)" in text
    assert page.value_of("subject_fi") == "Salon alkuinfo siirtyy"
    assert await message_count(svc) == 0


async def test_announcement_goes_out_as_previewed_and_its_status_refreshes_until_sent(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await with_staff(svc)
    b = await browsers.signed_in(svc)
    _, sent = await preview_and_send(b, SALO_ANNOUNCEMENT)
    m = re.search(r"/console/announcements/([0-9a-f-]{36})$", sent.url)
    assert m, sent.url
    status, doc = await svc.api("GET", f"/api/announcements/{m.group(1)}")  # the API sees the same announcement
    assert status == 200 and doc["recipients"] == 2 and len(doc["messages"]) == 4
    assert sum(1 for x in doc["messages"] if x["status"] == "permanent-failure") == 1  # the landline's SMS
    # No worker yet: nothing has gone out, and the page refreshes itself (with or without JavaScript).
    assert "Lähetetty: 0 / 4" in visible(sent) and "lähetys kesken" in sent.text
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in sent.text
    assert 'data-live="on"' in sent.text and '<script src="/console/console.js" defer>' in sent.text
    await console_service(start_service)  # a worker on the same Redis sends them

    async def settled() -> Page | None:
        page = await b.get(sent.url)
        return page if "Lähetetty: 3 / 4" in visible(page) else None

    page = await wait_for(settled)
    assert "http-equiv" not in page.text and 'data-live="off"' in page.text
    assert "Ei matkapuhelinnumeroa" in page.text and "Saara" not in page.text
    listing = await b.get("/console/announcements")
    assert "Salon alkuinfo siirtyy" in listing.text and m.group(1) in listing.text


async def test_an_announcement_changed_after_its_preview_is_previewed_again_not_sent(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await with_staff(svc)
    b = await browsers.signed_in(svc)
    form = await b.get("/console/announcements/new")
    preview = await b.post("/console/announcements/new", [*SALO_ANNOUNCEMENT, ("action", "preview"),
                                                          ("request_id", hidden(form, "request_id"))])
    changed = [(k, v + " Tervetuloa!" if k == "body_fi" else v) for k, v in SALO_ANNOUNCEMENT]
    page = await b.post("/console/announcements/new", [*changed, ("action", "send"),
                                                       ("request_id", hidden(preview, "request_id")),
                                                       ("previewed", hidden(preview, "previewed"))])
    assert page.status == 200 and "Muutit tiedotetta esikatselun jälkeen" in page.text
    assert "Tervetuloa!" in html.unescape(page.text) and await message_count(svc) == 0
    page = await b.post("/console/announcements/new", [*changed, ("action", "send"),
                                                       ("request_id", hidden(page, "request_id")),
                                                       ("previewed", hidden(page, "previewed"))])
    assert "/console/announcements/" in page.url and await message_count(svc) == 4


async def test_double_submitted_announcement_is_sent_once(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await with_staff(svc)
    b = await browsers.signed_in(svc)
    form = await b.get("/console/announcements/new")
    preview = await b.post("/console/announcements/new", [*SALO_ANNOUNCEMENT, ("action", "preview"),
                                                          ("request_id", hidden(form, "request_id"))])
    send = [*SALO_ANNOUNCEMENT, ("action", "send"), ("request_id", hidden(preview, "request_id")),
            ("previewed", hidden(preview, "previewed"))]
    first = await b.post("/console/announcements/new", send, csrf=preview.csrf)
    second = await b.post("/console/announcements/new", send, csrf=preview.csrf)
    assert first.url == second.url and await message_count(svc) == 4


async def test_announcement_errors_are_next_to_their_fields(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await put_staff(svc, "T-1", TURKU_FI)
    await put_staff(svc, "S-2", SALO_SV)
    b = await browsers.signed_in(svc)
    await b.get("/console/announcements/new")
    page = await b.post("/console/announcements/new", [
        ("subject_fi", ""), ("subject_sv", "Ämne"), ("body_fi", "Teksti"), ("body_sv", "å" * 700),
        ("channels", "sms"), ("when", "later"), ("send_at", "2020-01-01T08:00"), ("action", "preview")])
    assert page.status == 400
    assert page.field_error("subject_fi") == "Virhe: Kirjoita otsikko suomeksi"
    assert page.field_error("body_sv") == "Virhe: Tekstiviestinä tekstissä saa olla enintään 640 merkkiä"
    assert page.field_error("body_fi") is None
    assert page.field_error("send_at") == "Virhe: Ajan on oltava tulevaisuudessa"
    assert page.value_of("subject_sv") == "Ämne" and page.value_of("send_at") == "2020-01-01T08:00"
    assert 'value="later" checked' in page.text and 'value="sms" checked' in page.text
    page = await b.post("/console/announcements/new", [
        ("subject_fi", "Hei"), ("body_fi", "Teksti"), ("when", "later"), ("send_at", "huomenna"), ("action", "preview")])
    assert page.field_error("channels") == "Virhe: Valitse vähintään yksi kanava"
    assert page.field_error("send_at") == "Virhe: Anna päivä ja kellonaika, esimerkiksi 7.12.2026 9.00"
    page = await b.post("/console/announcements/new", [
        ("subject_fi", "Hei"), ("body_fi", "Teksti"), ("channels", "email"), ("sites", "turku"),
        ("organisations", "provider"), ("action", "send")])
    assert page.status == 400 and page.field_error("audience") == (
        "Virhe: Valinta ei osu kehenkään henkilöstöluettelossa: valitse muut toimipaikat, organisaatiot tai henkilöt")
    page = await b.post("/console/announcements/new", [
        ("subject_fi", "Hei"), ("body_fi", "Teksti"), ("channels", "email"), ("staff_ids", "GONE-1"), ("action", "preview")])
    assert page.field_error("staff_ids") == "Virhe: Joku valitsemistasi ei ole enää henkilöstöluettelossa"
    assert await message_count(svc) == 0


async def test_scheduled_announcement_to_chosen_people(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await with_staff(svc)
    b = await browsers.signed_in(svc)
    at = (datetime.now(svc.settings.timezone) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    fields = [("subject_fi", "Huomenna"), ("body_fi", "Muistakaa."), ("staff_ids", "T-1"), ("staff_ids", "S-2"),
              ("channels", "email"), ("when", "later"), ("send_at", at.strftime(HELSINKI_FMT))]
    preview, sent = await preview_and_send(b, fields)
    assert "Tiedote lähtee " in preview.text and "klo 8.00" in preview.text and "Vastaanottajia: 2" in visible(preview)
    assert "Ajastettu" in sent.text and "http-equiv" not in sent.text  # nothing to watch until then
    [doc_id] = re.findall(r"/console/announcements/([0-9a-f-]{36})$", sent.url)
    status, doc = await svc.api("GET", f"/api/announcements/{doc_id}")
    assert datetime.fromisoformat(doc["send_at"]) == at and {x["staff_id"] for x in doc["messages"]} == {"T-1", "S-2"}


async def test_announcements_list_shows_those_sent_through_the_api_too(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await with_staff(svc)
    status, answer = await svc.api("POST", "/api/announcements", json={
        "subject": {"fi": "API:n kautta"}, "body": {"fi": "Teksti"}, "audience": {}, "channels": ["email"]})
    assert status == 202
    b = await browsers.signed_in(svc)
    page = await b.get("/console/announcements")
    assert "API:n kautta" in page.text and f"/console/announcements/{answer['id']}" in page.text
    assert (await b.get("/console/announcements/nope")).status == 404


# -- the message log --------------------------------------------------------------------------------


async def test_message_log_by_client_and_message_id_with_status_history(start_service, browsers):
    from tests.support.service import referral

    svc = await console_service(start_service)
    status, answer = await svc.case.send("client.referred", referral("C-1001"))
    assert status == 202
    [message_id] = answer["messages"]
    await svc.final(message_id)
    b = await browsers.signed_in(svc)
    page = await b.get("/console/messages?kind=client&id=C-1001")
    text = visible(page)
    assert "Viestejä: 1" in text and "referral" in text and message_id in text
    assert "c***@example.fi" in text and "c-1001@example.fi" not in page.text  # masked
    assert "Matti" not in page.text  # no names in the log
    page = await b.get(f"/console/messages?kind=message&id={message_id}")
    history = re.search(r'<ol class="history">(.*?)</ol>', page.text, re.S).group(1)  # type: ignore[union-attr]
    assert [visible(Page(0, li, {}, "")).split(": ", 1)[1].strip() for li in re.findall(r"<li>(.*?)</li>", history, re.S)] == [
        "Odottaa", "Lähetetään", "Lähetetty"]
    assert "<details open>" in page.text
    assert "Nimet vain toisella kielellä" not in page.text  # the referral named the office in both languages
    # A Swedish client of an office named in Finnish only: the log shows which name fell back.
    data = referral("C-2009", "sv")
    data["office"] = {"name": {"fi": "Salon kaupunki"}}
    status, answer = await svc.case.send("client.referred", data)
    page = await b.get(f"/console/messages?kind=message&id={answer['messages'][0]}")
    assert "Nimet vain toisella kielellä" in page.text and "<code>office.name</code>" in page.text
    page = await b.get("/console/messages?kind=staff&id=nobody")
    assert "Tällä tunnuksella ei löytynyt viestejä." in page.text
    page = await b.get("/console/messages?kind=bogus&id=C-1001")
    assert 'value="client" selected' in page.text


async def test_message_log_shows_a_sessions_no_shows_and_call_outcomes(start_service, browsers):
    svc = await console_service(start_service)
    starts = session_start(days_ahead=3)
    clients = [invitee("C-A", "fi", phone="040 1111111"), invitee("C-B", "sv", phone="050 2222222"),
               invitee("C-C", "fi", first_name="Salainen")]
    status, _ = await svc.case.send("kickoff.scheduled", scheduled("S-LOG", clients, starts_at=starts))
    assert status == 202
    b = await browsers.signed_in(svc)
    page = await b.get("/console/messages?kind=session&id=S-LOG")
    assert "Alkuinfo S-LOG" in page.text and "Läsnäoloa ei ole vielä kirjattu." in page.text
    status, answer = await svc.case.send("kickoff.attendance", attendance("S-LOG", ["C-A"]))
    assert status == 202
    status, listing = await svc.api("GET", "/api/call-prompts?session_id=S-LOG")
    prompt_b = next(p for p in listing["call_prompts"] if p["client_id"] == "C-B")
    status, _ = await svc.api("POST", f"/api/call-prompts/{prompt_b['id']}/outcome",
                              json={"outcome": "rescheduled", "note": "Tulee ensi viikolla <b>"})
    assert status == 200
    for m in answer["messages"]:
        await svc.final(m)
    page = await b.get("/console/messages?kind=session&id=S-LOG")
    rows = {re.search(r"<code>(C-\w)</code>", r).group(1): visible(Page(0, r, {}, ""))  # type: ignore[union-attr]
            for r in re.findall(r"<tr>.*?</tr>", page.text, re.S) if "<code>C-" in r}
    assert set(rows) == {"C-B", "C-C"}  # the no-shows
    assert "Soitettu" in rows["C-B"] and "Uusi aika sovittu – Tulee ensi viikolla <b>" in rows["C-B"]
    assert "Tekstiviesti: Lähetetty" in rows["C-B"]
    assert "Soitettava" in rows["C-C"] and "Sähköposti: Lähetetty" in rows["C-C"]
    assert "Salainen" not in page.text and "Tulee ensi viikolla &lt;b&gt;" in page.text


# -- the staff directory ----------------------------------------------------------------------------


async def test_staff_directory_add_edit_filter_and_digest_switch(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await with_staff(svc)
    b = await browsers.signed_in(svc)
    page = await b.get("/console/staff")
    assert "Henkilöstö: 4 / 4" in page.text and "Sofia Lindqvist" in page.text
    page = await b.get("/console/staff?site=salo")
    assert "Henkilöstö: 2 / 4" in page.text and "Sofia Lindqvist" not in page.text

    form = await b.get("/console/staff/new")
    assert '<datalist id="site-options">' in form.text and 'name="digest" id="digest" checked' in form.text
    page = await b.post("/console/staff/new", {
        "id": "TKU-TE-9", "name": "Uusi Työntekijä", "email": "uusi.tyontekija@tyollisyysalue.example",
        "phone": "040 765 4321", "language": "sv", "organisation": "TE-Office", "site": "turku", "digest": "on"})
    assert page.url.endswith("/console/staff?saved=TKU-TE-9") and "Tallennettu: TKU-TE-9" in page.text
    status, member = await svc.api("GET", "/api/staff/TKU-TE-9")
    assert member == {"id": "TKU-TE-9", "name": "Uusi Työntekijä", "email": "uusi.tyontekija@tyollisyysalue.example",
                      "phone": "+358407654321", "language": "sv", "organisation": "te-office", "site": "turku",
                      "digest": True}

    form = await b.get("/console/staff/TKU-TE-9/edit")
    assert form.value_of("name") == "Uusi Työntekijä" and form.value_of("phone") == "+358407654321"
    assert 'value="sv" checked' in form.text and "TKU-TE-9" in form.text and 'name="id"' not in form.text
    await b.post("/console/staff/TKU-TE-9/edit", {
        "name": "Uusi Työntekijä", "email": "uusi.tyontekija@tyollisyysalue.example", "phone": "",
        "language": "fi", "organisation": "te-office", "site": "salo"})  # digest box left unticked
    status, member = await svc.api("GET", "/api/staff/TKU-TE-9")
    assert member["site"] == "salo" and member["phone"] is None and member["language"] == "fi" and not member["digest"]

    await b.get("/console/staff")
    page = await b.post("/console/staff/T-1/digest", {"digest": "off"})
    assert page.url.endswith("/console/staff?saved=T-1")
    assert (await svc.api("GET", "/api/staff/T-1"))[1]["digest"] is False
    row = re.search(r'<tr id="staff-T-1">.*?</tr>', page.text, re.S).group(0)  # type: ignore[union-attr]
    assert "Pois" in row and "Ota käyttöön" in row
    await b.post("/console/staff/T-1/digest", {"digest": "on"})
    assert (await svc.api("GET", "/api/staff/T-1"))[1]["digest"] is True
    assert (await b.get("/console/staff/nobody/edit")).status == 404


async def test_staff_form_errors_are_next_to_the_field_with_the_input_kept(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await put_staff(svc, "T-1", TURKU_FI)
    b = await browsers.signed_in(svc)
    await b.get("/console/staff/new")
    page = await b.post("/console/staff/new", {
        "id": "has space", "name": "", "email": "not-an-address", "phone": "12", "language": "de",
        "organisation": "TE office", "site": "turku"})
    assert page.status == 400
    assert page.field_error("id") == "Virhe: Käytä 1–128 kirjainta, numeroa tai merkkejä . _ : - ja aloita kirjaimella tai numerolla"
    assert page.field_error("name") == "Virhe: Anna henkilön nimi"
    assert page.field_error("email") == "Virhe: Anna sähköpostiosoite, esimerkiksi nimi@esimerkki.fi"
    assert page.field_error("phone") == "Virhe: Anna puhelinnumero, esimerkiksi 040 1234567 tai +358401234567"
    assert page.field_error("language") == "Virhe: Valitse kieli"
    assert page.field_error("organisation") == "Virhe: Käytä pieniä kirjaimia, numeroita, - tai _, esimerkiksi employment-area"
    assert page.field_error("site") is None
    assert page.value_of("email") == "not-an-address" and page.value_of("organisation") == "TE office"
    page = await b.post("/console/staff/new", {
        "id": "N-1", "name": "Kaksoisolento", "email": TURKU_FI["email"].upper(), "language": "fi",
        "organisation": "te-office", "site": "turku"})
    assert page.status == 409 and page.field_error("email") == "Virhe: Osoite on jo toisella henkilöllä (T-1)"
    page = await b.post("/console/staff/new", {
        "id": "T-1", "name": "Korvaaja", "email": "korvaaja@tyollisyysalue.example", "language": "fi",
        "organisation": "te-office", "site": "turku"})
    assert page.status == 400 and page.field_error("id") == "Virhe: Tällä tunnuksella on jo henkilö luettelossa"
    status, staff = await svc.api("GET", "/api/staff")
    assert [m["id"] for m in staff["staff"]] == ["T-1"] and staff["staff"][0]["name"] == TURKU_FI["name"]


# -- every page -------------------------------------------------------------------------------------


async def test_every_page_has_one_heading_labelled_fields_and_a_working_skip_link(start_service, browsers):
    svc = await console_service(start_service, worker=False)
    await with_staff(svc)
    change_id = await post_change(svc, GENERAL)
    status, answer = await svc.api("POST", "/api/announcements", json={
        "subject": {"fi": "Hei"}, "body": {"fi": "Teksti"}, "audience": {"sites": ["salo"]}, "channels": ["email"]})
    b = await browsers.signed_in(svc)
    pages = ["/console/practice-changes", "/console/practice-changes/new", f"/console/practice-changes/{change_id}",
             "/console/announcements", "/console/announcements/new", f"/console/announcements/{answer['id']}",
             "/console/messages", "/console/messages?kind=staff&id=S-1", "/console/staff", "/console/staff/new",
             "/console/staff/T-1/edit"]
    for path in pages:
        page = await b.get(path)
        assert page.status == 200, path
        text = page.text
        assert len(re.findall(r"<h1[ >]", text)) == 1, path
        assert 'href="#main"' in text and 'id="main"' in text and 'aria-current="page"' in text, path
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", text):
            if 'type="hidden"' in tag:
                continue
            if 'type="checkbox"' in tag or 'type="radio"' in tag:  # wrapped in its label
                assert f'<label class="choice">{tag}' in text, (path, tag)
                continue
            field_id = re.search(r' id="([^"]+)"', tag)
            assert field_id and f'<label for="{field_id.group(1)}">' in text, (path, tag)
        assert "<script>" not in text and "onclick" not in text, path  # scripts only from /console/console.js
    script = await b.get("/console/console.js")
    assert script.status == 200 and "delivery" in script.text
