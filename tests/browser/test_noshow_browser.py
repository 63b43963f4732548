"""The no-show loop's pages in Debian's Chromium on a 360-px-wide phone: the staff member opens
the call list from the call-prompt e-mail and records one `no-answer` and one `reached`, without
JavaScript. Screenshots go to `tests/artifacts/noshow/` (the committed ones are in
`docs/screenshots/`). Never `playwright install`: the browser is the system's."""

from __future__ import annotations

import shutil
from pathlib import Path


from tests.browser.conftest import SKIP_WITHOUT_CHROMIUM

from tests.console.test_call_list import absent_session, call_list_service, prompts_of
from tests.support.service import wait_for

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "noshow"
PHONE = {"width": 360, "height": 740}

pytestmark = SKIP_WITHOUT_CHROMIUM


async def test_call_list_on_a_phone_without_javascript(start_service, receiver, chromium, tmp_path):
    svc = await call_list_service(start_service, receiver)
    link, _ = await absent_session(svc)
    context = await chromium.new_context(viewport=PHONE, locale="fi-FI", java_script_enabled=False)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(link)
    assert await page.title() and "Soittolista" in await page.inner_text("h1")
    folder = tmp_path / "shots"
    folder.mkdir()
    await page.screenshot(path=str(folder / "call-list-phone.png"), full_page=True)

    matti = page.locator("#c-C-1001")
    await matti.get_by_label("Ei vastannut", exact=True).check()
    await matti.get_by_label("Muistiinpano (vapaaehtoinen)").fill("Ei vastannut klo 9.15")
    await matti.get_by_role("button", name="Kirjaa puhelu").click()
    await page.locator("#c-C-1001 [role=status]").wait_for()
    sven = page.locator("#c-C-2001")
    await sven.get_by_label("Tavoitettu").check()
    await sven.get_by_role("button", name="Kirjaa puhelu").click()
    await page.locator("#c-C-2001 [role=status]").wait_for()
    await page.screenshot(path=str(folder / "call-list-phone-recorded.png"), full_page=True)

    await context.close()
    # Measure the layout with JavaScript on (only to read scrollWidth; the page itself has none).
    context = await chromium.new_context(viewport=PHONE, locale="fi-FI")
    page = await context.new_page()
    await page.goto(link)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    await context.close()

    first = {p["client_id"]: p for p in await prompts_of(svc) if p["attempt"] == 1}
    assert first["C-1001"]["outcome"] == "no-answer" and first["C-2001"]["outcome"] == "reached"
    await wait_for(lambda: len(receiver.accepted("call_prompt.outcome")) == 2)
    assert not errors, errors
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    shutil.copytree(folder, ARTIFACTS)


async def test_rebooking_page_on_a_phone_without_javascript(start_service, chromium, tmp_path):
    from tests.kickoff.test_rebooking import LINK
    from tests.support.kickoff import attendance, invitee, past_start, scheduled, session_start, sms_outbox
    from tests.support.staff import local_path
    from notifier.kickoff.store import load_session

    svc = await start_service()
    await svc.case.send("kickoff.scheduled", scheduled("S-M", [invitee("C-5", "fi", email=None, phone="040 1234567")],
                                                       starts_at=session_start(days_ahead=1)))
    for sid, days in (("S-N1", 3), ("S-N2", 7)):
        await svc.case.send("kickoff.scheduled", scheduled(sid, [invitee("X-5", "fi")], starts_at=session_start(days_ahead=days)))
    past_start(svc, session_start(days_ahead=1))
    await svc.case.send("kickoff.attendance", attendance("S-M", []))
    body = (await wait_for(lambda: [m["body"] for m in sms_outbox(svc.outbox).values() if "/r/" in m["body"]]))[0]
    link = local_path(LINK.findall(body)[0], svc)
    context = await chromium.new_context(viewport=PHONE, locale="fi-FI", java_script_enabled=False)
    page = await context.new_page()
    await page.goto(link)
    assert "Valitse uusi aika" in await page.inner_text("h1")
    folder = tmp_path / "shots"
    folder.mkdir()
    await page.screenshot(path=str(folder / "rebook-phone.png"), full_page=True)
    await page.get_by_role("button", name="Valitse tämä aika").first.click()
    await page.get_by_text("Sinulle on varattu paikka alkuinfoon").wait_for()
    await page.screenshot(path=str(folder / "rebook-phone-done.png"), full_page=True)
    await context.close()
    state = await load_session(svc.runtime.redis, svc.runtime.store.sealer, "S-N1")
    assert state.invitee("C-5") is not None
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for shot in folder.iterdir():
        shutil.copy(shot, ARTIFACTS / shot.name)


async def test_needs_attention_on_a_phone_in_finnish_and_swedish(start_service, chromium, tmp_path):
    from tests.support.console import console_service, minted_link
    from tests.support.service import referral

    svc = await console_service(start_service)
    await svc.case.send("client.referred", referral("C-NOONE", email=None, phone=None))
    await svc.case.send("client.referred", referral("C-NOONE-2", "sv", email=None, phone=None))
    folder = tmp_path / "shots"
    folder.mkdir()
    for language, heading, button in (("fi", "Vaatii huomiota", "Merkitse käsitellyksi"),
                                      ("sv", "Kräver åtgärd", "Markera som hanterat")):
        context = await chromium.new_context(viewport=PHONE, locale="fi-FI")
        page = await context.new_page()
        await page.goto(await minted_link(svc, language=language))
        await page.get_by_role("button").first.click()
        await page.wait_for_url("**/console/practice-changes")
        await page.goto(svc.url + "/console/attention")
        assert heading in await page.inner_text("h1")
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await page.screenshot(path=str(folder / f"attention-phone-{language}.png"), full_page=True)
        await page.get_by_role("button", name=button).first.click()
        await page.wait_for_url("**/console/attention?days=14")
        await context.close()
    assert len(await svc.runtime.redis.hgetall("notifier:console:attention:handled")) == 2
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for shot in folder.iterdir():
        shutil.copy(shot, ARTIFACTS / shot.name)


async def test_figures_on_a_phone(start_service, chromium, tmp_path):
    from tests.support.console import console_service, minted_link
    from tests.support.kickoff import attendance, invitee, past_start, scheduled, session_start

    svc = await console_service(start_service)
    await svc.case.send("kickoff.scheduled", scheduled("S-FIG", [invitee("C-1", "fi", phone="040 1234567"),
                                                                 invitee("C-2", "sv"), invitee("C-3", "fi")],
                                                       starts_at=session_start(days_ahead=1)))
    past_start(svc, session_start(days_ahead=1))
    await svc.case.send("kickoff.attendance", attendance("S-FIG", ["C-2"]))
    context = await chromium.new_context(viewport=PHONE, locale="fi-FI")
    page = await context.new_page()
    await page.goto(await minted_link(svc, language="fi"))
    await page.get_by_role("button").first.click()
    await page.wait_for_url("**/console/practice-changes")
    await page.goto(svc.url + "/console/figures?to=" + (session_start(days_ahead=2).date().isoformat()))
    assert "Luvut" in await page.inner_text("h1")
    assert await page.locator("svg.chart").count() >= 3
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    folder = tmp_path / "shots"
    folder.mkdir()
    await page.screenshot(path=str(folder / "figures-phone.png"), full_page=True)
    await context.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for shot in folder.iterdir():
        shutil.copy(shot, ARTIFACTS / shot.name)
