"""The coordinators' console end to end in a real headless browser: Debian's Chromium driven by
Playwright. A coordinator signs in with the link from the e-mail outbox, posts a practice change
after seeing it in a digest preview, sends an announcement to one site and watches its delivery
status reach "sent" without reloading, and keeps the directory; on a laptop and on a phone.

Screenshots of every page go to `tests/artifacts/console/` (ignored by git) for people to look at.
The wait for delivery is `expect(...)`'s polling, never a fixed sleep.
Never `playwright install`: the browser is the system's (`apt-get install -y chromium`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.browser.conftest import SKIP_WITHOUT_CHROMIUM, playwright_api

from tests.support.service import Service, wait_for
from tests.support.console import COORDINATOR, console_service, minted_link, sign_in_links
from notifier.staff.practice import PracticeChanges
from notifier.app.worker import make_worker
from tests.support.staff import SALO_FI, SALO_SV, TURKU_FI, TURKU_SV, local_path, put_staff

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

pytestmark = SKIP_WITHOUT_CHROMIUM


@pytest.fixture
def artifacts(tmp_path: Path) -> Iterator[Path]:
    """Screenshots go to this test's own folder, which then replaces `tests/artifacts/console/`
    (so that two test runs at once never mix or delete each other's pictures)."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    yield folder
    staging = ARTIFACTS.with_name(f"{ARTIFACTS.name}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(folder, staging)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    with contextlib.suppress(OSError):
        staging.rename(ARTIFACTS)
    shutil.rmtree(staging, ignore_errors=True)


async def drain(svc: Service) -> None:
    """Send everything queued so far with a worker that stops when the queue is empty."""
    worker = make_worker(svc.settings, handle_signals=False, burst=True)
    try:
        await worker.async_run()
    finally:
        await worker.close()


def _expected(text: str) -> bool:
    """A form sent back with errors answers 400, which Chromium also logs."""
    return "responded with a status of 400" in text


class Pages:
    """A browser tab that records console errors (CSP violations show up there) and screenshots."""

    def __init__(self, page: Any, folder: Path, prefix: str) -> None:
        self.page, self.folder, self.prefix = page, folder, prefix
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" and not _expected(m.text) else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    async def shot(self, name: str, full_page: bool = True) -> None:
        await self.page.screenshot(path=str(self.folder / f"{self.prefix}-{name}.png"), full_page=full_page)


async def test_coordinator_uses_the_console_in_a_real_browser(start_service, chromium, artifacts):
    svc = await console_service(start_service, worker=False)
    for staff_id, body in (("T-1", TURKU_FI), ("T-2", TURKU_SV), ("S-1", SALO_FI), ("S-2", SALO_SV)):
        await put_staff(svc, staff_id, body)
    context = await chromium.new_context(viewport=LAPTOP, locale="fi-FI")
    tab = Pages(await context.new_page(), artifacts, "laptop")
    page = tab.page
    expect = playwright_api.expect

    # Sign in with the link from the e-mail outbox.
    await page.goto(svc.url + "/console")
    await expect(page).to_have_url(svc.url + "/console/sign-in")
    await tab.shot("01-sign-in")
    await page.keyboard.press("Tab")  # the first stop is the skip link
    assert await page.evaluate("document.activeElement.textContent") == "Siirry pääsisältöön"
    await page.get_by_label("Työsähköpostiosoite").fill(COORDINATOR)
    await page.get_by_role("button", name="Lähetä minulle kirjautumislinkki").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tarkista sähköpostisi")
    await drain(svc)
    [link] = await wait_for(lambda: sign_in_links(svc.outbox))
    await page.goto(local_path(link, svc))
    await tab.shot("02-sign-in-link")
    await page.get_by_role("button", name="Kirjaudu").click()
    await expect(page).to_have_url(svc.url + "/console/practice-changes")
    await expect(page.get_by_text(COORDINATOR)).to_be_visible()

    # Post a practice change after seeing it in the digest preview.
    await page.get_by_role("link", name="Uusi käytäntömuutos").click()
    await page.get_by_label("Otsikko suomeksi").fill("Poissaolijalle soitetaan heti")
    await page.get_by_label("Teksti suomeksi").fill("Soita jokaiselle poissaolijalle heti alkuinfon alettua.\n\n"
                                                    "Soittolista tulee sähköpostiisi.")
    await page.get_by_label("Otsikko ruotsiksi").fill("Den som uteblir ringer vi upp genast")
    await page.get_by_label("Teksti ruotsiksi").fill("Ring alla som uteblir genast när infotillfället har börjat.")
    await page.get_by_label("Voimassa alkaen").fill("2026-12-07")
    await page.get_by_label("Turku").check()
    await page.get_by_role("button", name="Esikatsele").click()
    await expect(page.get_by_role("heading", name="Esikatselu: muutos viikkokoosteessa")).to_be_visible()
    finnish, swedish = page.frame_locator("iframe.mail").nth(0), page.frame_locator("iframe.mail").nth(1)
    await expect(finnish.get_by_role("heading", name="Poissaolijalle soitetaan heti")).to_be_visible()
    await expect(finnish.get_by_text("Toimipaikallesi tai organisaatiollesi")).to_be_visible()
    await expect(swedish.get_by_role("heading", name="Den som uteblir ringer vi upp genast")).to_be_visible()
    await expect(page.get_by_label("Otsikko suomeksi")).to_have_value("Poissaolijalle soitetaan heti")
    await tab.shot("03-practice-change-preview")
    await page.get_by_role("button", name="Julkaise muutos").click()
    await expect(page.get_by_role("status")).to_contain_text("Muutos on julkaistu")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Poissaolijalle soitetaan heti")
    await expect(page.get_by_text("Lukematta: 2.", exact=False)).to_be_visible()
    change_id = page.url.rsplit("/", 1)[1].split("?")[0]
    await PracticeChanges(svc.runtime.redis).acknowledge(change_id, "T-1", datetime.now(timezone.utc))  # Tiina reads it
    await page.reload()
    await expect(page.get_by_text("Lukematta: 1.", exact=False)).to_be_visible()
    await tab.shot("04-practice-change")
    await page.get_by_role("link", name="Käytäntömuutokset", exact=True).click()
    await expect(page.get_by_role("cell", name="1 / 2")).to_be_visible()
    await tab.shot("05-practice-changes")

    # Send an announcement to Salo, checking the preview and recipient count first.
    await page.get_by_role("link", name="Tiedotteet").click()
    await tab.shot("06-announcements-empty")
    await page.get_by_role("link", name="Uusi tiedote").click()
    await page.get_by_label("Otsikko suomeksi").fill("Salon alkuinfo siirtyy torstaihin")
    await page.get_by_label("Teksti suomeksi").fill("Ensi viikon alkuinfo pidetään torstaina klo 9.")
    await page.get_by_label("Otsikko ruotsiksi").fill("Infotillfället i Salo flyttas till torsdag")
    await page.get_by_label("Teksti ruotsiksi").fill("Nästa veckas infotillfälle hålls på torsdag kl. 9.")
    await page.get_by_role("group", name="Toimipaikat").get_by_label("Salo").check()
    await page.get_by_label("Tekstiviesti henkilöstöluettelon matkapuhelinnumeroon").check()
    await tab.shot("07-announcement-form")
    await page.get_by_role("button", name="Esikatsele").click()
    await expect(page.get_by_text("Vastaanottajia: 2")).to_be_visible()
    await expect(page.get_by_text("Ei matkapuhelinnumeroa, joten ei tekstiviestiä: 1")).to_be_visible()
    await tab.shot("08-announcement-preview")
    await page.get_by_role("button", name="Lähetä (vastaanottajia 2)").click()
    summary = page.locator("#delivery-summary")
    await expect(summary).to_contain_text("Lähetetty: 0 / 3")  # the landline's SMS is skipped, shown apart
    await expect(summary).to_contain_text("ohitettu, ei matkapuhelinnumeroa: 1")
    await expect(summary).to_contain_text("lähetys kesken")
    await tab.shot("09-announcement-going-out")
    await page.evaluate("window.__notReloaded = true")
    sending = asyncio.create_task(drain(svc))  # the worker starts; the page follows it by itself
    try:
        await expect(summary).to_have_text("Lähetetty: 3 / 3; ohitettu, ei matkapuhelinnumeroa: 1", timeout=20_000)
    finally:
        await sending
    assert await page.evaluate("window.__notReloaded === true")  # updated in place, not reloaded
    await expect(page.locator("#delivery")).to_have_attribute("data-live", "off")
    await expect(page.get_by_text("Ohitettu (ei matkapuhelinta)").first).to_be_visible()
    await tab.shot("10-announcement-sent")

    # The message log and the staff directory.
    await page.get_by_role("link", name="Viestiloki").click()
    await page.get_by_label("Hakuperuste").select_option("staff")
    await page.get_by_label("Tunnus", exact=True).fill("S-2")
    await page.get_by_role("button", name="Hae").click()
    await expect(page.get_by_role("heading", name="Viestejä: 2")).to_be_visible()
    await page.locator("summary").first.click()
    await tab.shot("11-message-log")
    await page.get_by_role("link", name="Henkilöstöluettelo").click()
    await page.get_by_role("button", name="Ota pois (Tiina Turunen)").click()
    await expect(page.locator("#staff-T-1")).to_contain_text("Pois")
    await tab.shot("12-staff-directory")
    await page.get_by_role("link", name="Lisää henkilö").click()
    await page.get_by_label("Sähköpostiosoite", exact=False).first.fill("ei-osoite")
    await page.get_by_role("button", name="Lisää", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text("Anna henkilön nimi")
    await expect(page.locator("#email")).to_have_value("ei-osoite")
    await tab.shot("13-staff-form-errors")
    await page.get_by_role("button", name="På svenska").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Lägg till en anställd")
    await page.get_by_role("link", name="Ändrade arbetssätt").click()
    await tab.shot("14-practice-changes-sv")
    assert tab.errors == [], tab.errors  # no CSP violations, no script errors
    await context.close()

    # On a phone: the same pages fit a narrow screen.
    phone = await chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="fi-FI")
    mobile = Pages(await phone.new_page(), artifacts, "phone")
    link = await minted_link(svc, COORDINATOR, "fi")
    await mobile.page.goto(link)
    await mobile.page.get_by_role("button", name="Kirjaudu").click()
    for name, path in (("01-practice-changes", "/console/practice-changes"),
                       ("02-practice-change-form", "/console/practice-changes/new"),
                       ("03-announcements", "/console/announcements"),
                       ("04-staff-directory", "/console/staff"),
                       ("05-message-log", "/console/messages?kind=staff&id=S-2")):
        await mobile.page.goto(svc.url + path)
        await mobile.shot(name)
        # Nothing but a table's own scroll area may be wider than the screen.
        assert await mobile.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
    await mobile.page.get_by_role("link", name="Tiedotteet").click()
    await mobile.page.get_by_role("link", name="Salon alkuinfo siirtyy torstaihin").click()
    await mobile.shot("06-announcement")
    assert mobile.errors == [], mobile.errors
    await phone.close()
