"""Self-service pages: double opt-in, signed links (forged and foreign ones refused), one-click
unsubscribe, preferences, and escaping of hostile text. Real Redis, real SMTP, real HTTP."""

from __future__ import annotations

from typing import Any

from tests.support.service import Service, wait_for
from notifier.staff.links import ACKNOWLEDGE, PREFERENCES, UNSUBSCRIBE, Links
from tests.support.staff import (
    GENERAL,
    SIGNING_SECRET,
    TURKU_FI,
    TURKU_SV,
    links_in,
    local_path,
    mails_to,
    post_change,
    put_staff,
    run_digest,
    staff_service,
    text_of,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def page(svc: Service, method: str, path: str, **kw: Any) -> tuple[int, str, Any]:
    async with svc.http.request(method, svc.url + path if path.startswith("/") else path, **kw) as resp:
        return resp.status, await resp.text(), resp.headers


async def staff(svc: Service, staff_id: str) -> dict[str, Any]:
    status, body = await svc.api("GET", f"/api/staff/{staff_id}")
    assert status == 200
    return body


async def pending_count(svc: Service) -> int:
    return len([k async for k in svc.runtime.redis.scan_iter("notifier:subscribe:pending:*")])


# -- subscribing ----------------------------------------------------------------------------------


async def test_subscribe_page_is_plain_html_in_both_languages(start_service):
    svc = await staff_service(start_service, worker=False)
    status, fi, headers = await page(svc, "GET", "/subscribe")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert '<html lang="fi">' in fi and "Työsähköpostiosoite" in fi and 'name="viewport"' in fi
    assert "<script" not in fi and 'method="post"' in fi
    assert "default-src 'none'" in headers["Content-Security-Policy"] and headers["Referrer-Policy"] == "no-referrer"
    status, sv, _ = await page(svc, "GET", "/subscribe?lang=sv")
    assert '<html lang="sv">' in sv and "E-postadress på jobbet" in sv
    status, sv2, _ = await page(svc, "GET", "/subscribe", headers={"Accept-Language": "sv-FI,sv;q=0.9"})
    assert sv2 == sv


async def test_subscribe_never_tells_whether_an_address_exists(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    await put_staff(svc, "T-1", {**TURKU_FI, "email": "tiina@elsewhere.example", "digest": False})
    answers = []
    for address in ("nobody@elsewhere.example", "tiina@elsewhere.example"):
        status, body, _ = await page(svc, "POST", "/subscribe", data={"email": address, "language": "fi"})
        answers.append((status, body))
    assert answers[0] == answers[1] and answers[0][0] == 200
    assert await pending_count(svc) == 1  # only the known address got a confirmation
    await wait_for(lambda: mails_to(sink, "tiina@elsewhere.example"))
    assert not mails_to(sink, "nobody@elsewhere.example")


async def test_double_opt_in_for_a_known_person(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    await put_staff(svc, "T-1", {**TURKU_FI, "digest": False})
    await page(svc, "POST", "/subscribe", data={"email": TURKU_FI["email"], "language": "fi"})
    [mail] = await wait_for(lambda: mails_to(sink, TURKU_FI["email"]))
    assert mail["Subject"] == "Vahvista muuttuneiden käytäntöjen viikkokoosteen tilaus"
    [link] = links_in(text_of(mail), "subscribe/confirm")
    assert (await staff(svc, "T-1"))["digest"] is False  # not before the link is used
    status, body, _ = await page(svc, "GET", local_path(link, svc))
    assert status == 200 and "Tilaa" in body
    assert (await staff(svc, "T-1"))["digest"] is False  # opening the link (a mail scanner) is not enough
    status, body, _ = await page(svc, "POST", local_path(link, svc))
    assert status == 200 and "Tilaus on voimassa" in body
    assert (await staff(svc, "T-1"))["digest"] is True
    # Used again (a second click, the link in another tab): they are told it is already done.
    for method in ("GET", "POST"):
        status, body, _ = await page(svc, method, local_path(link, svc))
        assert status == 200 and "Tilaus on jo vahvistettu" in body and "ei ole voimassa" not in body
    # Once they unsubscribed, the used link is just not valid.
    await put_staff(svc, "T-1", {**TURKU_FI, "digest": False})
    assert (await page(svc, "POST", local_path(link, svc)))[0] == 404


async def test_double_opt_in_for_a_new_person_from_an_allowed_domain(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    await put_staff(svc, "S-1", {**TURKU_FI, "email": "someone@tyollisyysalue.example", "site": "salo"})
    address = "Uusi.Ihminen@infopiste.example"
    await page(svc, "POST", "/subscribe?lang=sv", data={"email": address})
    [mail] = await wait_for(lambda: [m for m in sink.messages if "uusi" in m["To"].addresses[0].addr_spec.lower()])
    assert mail["Content-Language"] == "sv"
    [link] = links_in(text_of(mail), "subscribe/confirm")
    status, body, _ = await page(svc, "GET", local_path(link, svc))
    assert 'name="organisation"' in body and '<option value="salo">Salo</option>' in body
    assert 'type="text" id="organisation"' not in body and 'type="text" id="site"' not in body  # no free text
    status, body, _ = await page(svc, "POST", local_path(link, svc), data={"name": "", "organisation": "provider", "site": "salo"})
    assert status == 400 and "Skriv ditt namn" in body
    # Codes that are not on the lists (typed by hand into the form) are refused: no new groups.
    for stray in ({"organisation": "te-toimisto", "site": "salo"}, {"organisation": "provider", "site": "turku-2"}):
        status, body, _ = await page(svc, "POST", local_path(link, svc), data={"name": "Uusi Ihminen", **stray})
        assert status == 400 and "Uusi Ihminen" in body
    assert address not in [m["email"] for m in (await svc.api("GET", "/api/staff"))[1]["staff"]]
    status, body, _ = await page(svc, "POST", local_path(link, svc), data={"name": "Uusi Ihminen", "organisation": "provider", "site": "salo"})
    assert status == 200 and "Du prenumererar nu" in body
    status, body, _ = await page(svc, "GET", local_path(link, svc))
    assert status == 200 and "Prenumerationen är redan bekräftad" in body and '<html lang="sv">' in body
    [new] = [m for m in (await svc.api("GET", "/api/staff"))[1]["staff"] if m["email"] == address]
    assert new["id"].startswith("self-")
    assert (new["language"], new["organisation"], new["site"], new["digest"]) == ("sv", "provider", "salo", True)


async def test_a_confirmation_link_works_once_even_for_two_clicks_at_once(start_service, smtp):
    import asyncio

    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    await page(svc, "POST", "/subscribe", data={"email": "kaksi.klikkia@infopiste.example"})
    [mail] = await wait_for(lambda: [m for m in sink.messages if "klikkia" in m["To"].addresses[0].addr_spec])
    [link] = links_in(text_of(mail), "subscribe/confirm")
    form = {"name": "Kaksi Klikkiä", "organisation": "provider", "site": "turku"}
    results = await asyncio.gather(*(page(svc, "POST", local_path(link, svc), data=form) for _ in range(2)))
    assert [status for status, _, _ in results] == [200, 200]
    assert sorted("Du prenumererar" in body or "Tilaus on voimassa" in body for _, body, _ in results) == [False, True]
    assert [m["email"] for m in (await svc.api("GET", "/api/staff"))[1]["staff"]].count("kaksi.klikkia@infopiste.example") == 1
    status, body, _ = await page(svc, "POST", local_path(link, svc), data=form)
    assert status == 200 and "Tilaus on jo vahvistettu" in body


async def test_unknown_address_outside_staff_domains_gets_nothing(start_service):
    svc = await staff_service(start_service, worker=False)
    status, body, _ = await page(svc, "POST", "/subscribe", data={"email": "x@gmail.example"})
    assert status == 200 and await pending_count(svc) == 0
    status, body, _ = await page(svc, "POST", "/subscribe", data={"email": '"><script>alert(1)</script>'})
    assert status == 400 and "Kirjoita kelvollinen sähköpostiosoite" in body
    assert "<script" not in body and 'value="&#34;&gt;&lt;script&gt;' in body


async def test_one_confirmation_per_address_per_ten_minutes(start_service):
    svc = await staff_service(start_service, worker=False)
    for _ in range(3):
        await page(svc, "POST", "/subscribe", data={"email": "a@tyollisyysalue.example"})
    assert await pending_count(svc) == 1


async def test_subscribe_is_rate_limited_per_client_address(start_service):
    svc = await staff_service(start_service, worker=False, subscribe_limit_per_hour=3)
    statuses = []
    for i in range(5):
        status, body, _ = await page(svc, "POST", "/subscribe", data={"email": f"p{i}@tyollisyysalue.example"})
        statuses.append(status)
    assert statuses == [200, 200, 200, 429, 429]
    assert "Liian monta yritystä" in body
    assert await pending_count(svc) == 3  # nothing was sent for the refused ones
    keys = [k.decode() for k in await svc.runtime.redis.keys("notifier:throttle:*")]
    assert keys and not any("127.0.0.1" in k for k in keys)  # the address is not stored in the clear


# -- signed links ---------------------------------------------------------------------------------


async def digest_links(svc: Service, sink, staff_id: str, body: dict[str, Any]) -> dict[str, str]:
    """Put a person in the directory, send them a digest and read its links."""
    await put_staff(svc, staff_id, body)
    await post_change(svc, GENERAL)
    await run_digest(svc)
    [mail] = mails_to(sink, body["email"])
    text = text_of(mail)
    return {
        "preferences": links_in(text, "preferences")[0],
        "unsubscribe": links_in(text, "unsubscribe")[0],
        "acknowledge": links_in(text, "acknowledge")[0],
        "header": mail["List-Unsubscribe"].strip("<>"),
    }


async def test_one_click_unsubscribe_from_the_list_unsubscribe_header(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    links = await digest_links(svc, sink, "T-1", TURKU_FI)
    assert links["header"] == links["unsubscribe"]
    status, body, _ = await page(svc, "GET", local_path(links["header"], svc))
    assert status == 200 and "Peru tilaus" in body and 'method="post"' in body
    assert (await staff(svc, "T-1"))["digest"] is True  # GET only shows the button
    # what a mail client sends (RFC 8058): no cookies, no confirmation
    status, body, _ = await page(svc, "POST", local_path(links["header"], svc), data="List-Unsubscribe=One-Click", headers=FORM)
    assert status == 200 and "Tilaus on peruttu" in body
    assert (await staff(svc, "T-1"))["digest"] is False
    status, _, _ = await page(svc, "POST", local_path(links["header"], svc), data="List-Unsubscribe=One-Click", headers=FORM)
    assert status == 200  # again: still fine, still unsubscribed


async def test_preferences_change_language_and_digest(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    links = await digest_links(svc, sink, "P-1", TURKU_SV)
    url = local_path(links["preferences"], svc)
    status, body, _ = await page(svc, "GET", url)
    assert status == 200 and "Dina inställningar" in body and 'value="sv" checked' in body
    status, body, _ = await page(svc, "POST", url, data={"language": "fi"})  # digest box left empty
    assert status == 200 and "Valintasi on tallennettu" in body
    assert ((await staff(svc, "P-1"))["language"], (await staff(svc, "P-1"))["digest"]) == ("fi", False)
    status, body, _ = await page(svc, "POST", url, data={"language": "sv", "digest": "on"})
    assert ((await staff(svc, "P-1"))["language"], (await staff(svc, "P-1"))["digest"]) == ("sv", True)
    status, _, _ = await page(svc, "POST", url, data={"language": "en"})
    assert status == 400 and (await staff(svc, "P-1"))["language"] == "sv"


async def test_forged_and_foreign_tokens_are_refused(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    links = await digest_links(svc, sink, "T-1", TURKU_FI)
    unsubscribe = local_path(links["unsubscribe"], svc)
    token = unsubscribe.rsplit("/", 1)[1]
    other_key = Links(("someone-elses-secret",), svc.settings.public_url)
    member = await svc_member(svc, "T-1")
    forged = [
        "/unsubscribe/not-a-token",
        "/unsubscribe/" + token[:-2] + ("AA" if not token.endswith("AA") else "BB"),      # tampered signature
        "/unsubscribe/" + other_key.staff_token(UNSUBSCRIBE, member),                     # signed with another key
        "/unsubscribe/" + local_path(links["preferences"], svc).rsplit("/", 1)[1],        # a preferences token
        "/unsubscribe/" + local_path(links["acknowledge"], svc).rsplit("/", 1)[1],        # an acknowledgement token
        "/unsubscribe/" + "x" * 5000,
    ]
    for path in forged:
        status, body, _ = await page(svc, "POST", path, data="List-Unsubscribe=One-Click", headers=FORM)
        assert status == 404, path
        assert "Linkki ei ole voimassa" in body
    assert (await staff(svc, "T-1"))["digest"] is True
    # an acknowledgement link cannot be turned into one for another change
    ack_other = Links((SIGNING_SECRET,), svc.settings.public_url).staff_token(ACKNOWLEDGE, member, "no-such-change")
    assert (await page(svc, "POST", f"/acknowledge/{ack_other}"))[0] == 404
    # the person is deleted and someone new gets the same id: the old links are not theirs
    await svc.api("DELETE", "/api/staff/T-1")
    await put_staff(svc, "T-1", {**TURKU_SV, "email": "newcomer@infopiste.example"})
    for url in (unsubscribe, local_path(links["preferences"], svc), local_path(links["acknowledge"], svc)):
        assert (await page(svc, "POST", url, data={"language": "fi"}))[0] == 404
    assert (await staff(svc, "T-1"))["digest"] is True and (await staff(svc, "T-1"))["language"] == "sv"


async def svc_member(svc: Service, staff_id: str):  # type: ignore[no-untyped-def]
    from notifier.staff.directory import StaffDirectory

    member = await StaffDirectory(svc.runtime.redis, svc.runtime.store.sealer).get(staff_id)
    assert member is not None
    return member


async def test_pages_escape_hostile_text(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    hostile = '<script>alert("x")</script> "O\'Neil" <img src=x onerror=alert(1)>'
    await put_staff(svc, "T-1", {**TURKU_FI, "name": hostile})
    await post_change(svc, {"title": {"fi": hostile}, "body": {"fi": f"Eka {hostile}\n\nToka \"><b>lihava</b>"},
                            "effective_from": "2026-12-07"})
    await run_digest(svc)
    [mail] = mails_to(sink, TURKU_FI["email"])
    text = text_of(mail)
    ack = local_path(links_in(text, "acknowledge")[0], svc)
    prefs = local_path(links_in(text, "preferences")[0], svc)
    for url in (ack, prefs):
        status, body, _ = await page(svc, "GET", url)
        assert status == 200
        assert "<script" not in body and "<img" not in body and "<b>lihava" not in body
        assert "&lt;script&gt;" in body
    html = mail.get_body(("html",)).get_content()
    assert "<script" not in html and "<img" not in html and "<b>lihava" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert mail["To"].addresses[0].display_name == hostile  # the header carries it, encoded, not injected


async def test_pages_say_unavailable_without_a_signing_secret(start_service):
    svc = await start_service(worker=False)
    status, body, _ = await page(svc, "GET", "/subscribe")
    assert status == 503 and "Ei käytettävissä" in body
    assert (await page(svc, "POST", "/unsubscribe/anything"))[0] == 503
    assert (await svc.api("POST", "/api/digests/run", json={}))[0] == 503


def test_tokens_carry_ids_only():
    import base64
    import json

    from notifier.staff.model import StaffMember

    m = StaffMember("T-1", "Tiina Turunen", "tiina@example.fi", "fi", "te-office", "turku", nonce="abc")
    links = Links((SIGNING_SECRET,), "https://n")
    token = links.staff_token(PREFERENCES, m)
    version, body, _signed_at, _mac = token.split(".")  # `2.<payload>.<time>.<mac>` (links.py)
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert payload == {"s": "T-1", "n": "abc"}
    assert links.read_staff(PREFERENCES, token).matches(m)
    assert links.read_staff(UNSUBSCRIBE, token) is None
    rotated = Links(("new-secret", SIGNING_SECRET), "https://n")  # newest first: old links still work
    assert rotated.read_staff(PREFERENCES, token).matches(m)
