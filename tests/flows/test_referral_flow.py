"""The backbone end to end: signed webhook -> worker -> referral info letter (outbox and SMTP)."""

from __future__ import annotations

from email import message_from_bytes, policy

from tests.support.service import referral, wait_for


async def test_finnish_referral_lands_in_outbox(start_service):
    svc = await start_service()
    status, answer = await svc.case.send("client.referred", referral("C-1001", "fi"))
    assert status == 202
    [message_id] = answer["messages"]
    path = svc.outbox / "email" / f"{message_id}.eml"
    await wait_for(path.exists)
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert msg["Content-Language"] == "fi"
    assert msg["To"].addresses[0].addr_spec == "c-1001@example.fi"
    assert msg["Message-ID"] and msg["Date"]
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Palvelu on velvoittava" in text and "työttömyysetuu" in text
    assert "ma 30.11.2026" in text  # referral date, Babel fi
    assert "Kela" not in text and "Työelämän Infopiste Oy" in text
    # The authority by its own name in the client's language; no closed body, no trial.
    assert "Turun seudun työllisyysalue" in text and "Åbonejdens" not in text
    assert "TE-" not in text and "kokeilu" not in text.lower()
    assert "voi vaikuttaa työttömyysetuuteesi" in text
    assert "Palvelu on velvoittava" in html and 'lang="fi"' in html
    assert msg["Subject"] == "Sinut on ohjattu tehostettuun työnvälityspalveluun"
    m = await svc.final(message_id)
    assert m.status == "sent"
    assert [h.status for h in m.history] == ["created", "sending", "sent"]


async def test_swedish_referral_uses_swedish_catalog_and_dates(start_service):
    svc = await start_service()
    status, answer = await svc.case.send("client.referred", referral("C-2001", "sv"))
    assert status == 202
    path = svc.outbox / "email" / f"{answer['messages'][0]}.eml"
    await wait_for(path.exists)
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert msg["Content-Language"] == "sv"
    text = msg.get_body(("plain",)).get_content()
    assert "Tjänsten är obligatorisk" in text and "kan det påverka din arbetslöshetsförmån" in text
    assert "Åbonejdens sysselsättningsområde" in text and "Turun seudun" not in text
    assert "TE-" not in text and "försök" not in text.lower() and "FPA" not in text
    assert "Med vänliga hälsningar\r\nÅbonejdens sysselsättningsområde" in text  # the signature too
    assert "mån 30.11.2026" in text
    assert text.startswith("Hej Sven,")
    assert msg["Subject"] == "Du har hänvisats till den intensifierade arbetsförmedlingstjänsten"


async def test_smtp_backend_delivers_to_real_server(start_service, smtp):
    sink, port = smtp
    svc = await start_service(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port)
    ids = []
    for i in range(3):
        status, answer = await svc.case.send("client.referred", referral(f"C-30{i}", "fi"))
        assert status == 202
        ids += answer["messages"]
    await wait_for(lambda: len(sink.messages) == 3)
    assert sorted(m["To"].addresses[0].addr_spec for m in sink.messages) == ["c-300@example.fi", "c-301@example.fi", "c-302@example.fi"]
    for mid in ids:
        assert (await svc.final(mid)).status == "sent"


async def test_client_without_email_is_no_channel(start_service):
    svc = await start_service()
    status, answer = await svc.case.send("client.referred", referral("C-4001", "fi", email=None))
    assert status == 202
    status, m = await svc.api("GET", f"/api/messages/{answer['messages'][0]}")
    assert status == 200
    assert m["status"] == "permanent-failure" and m["reason"] == "no-channel"
    assert not (svc.outbox / "email").exists() or not any((svc.outbox / "email").iterdir())


async def test_finnish_and_swedish_messages_from_one_service_each_have_their_own_text_and_html(start_service):
    """One service, both languages, in turns: neither part of either language's e-mail may come
    from the other language (a cache keyed without the language would do exactly that)."""
    from tests.support.kickoff import invitee, scheduled

    svc = await start_service()
    mails = {}
    for client_id, language in (("C-1001", "fi"), ("C-2001", "sv"), ("C-1002", "fi"), ("C-2002", "sv")):
        status, answer = await svc.case.send("client.referred", referral(client_id, language))
        assert status == 202
        mails[("referral", client_id)] = answer["messages"][0]
    status, answer = await svc.case.send("kickoff.scheduled", scheduled(
        "S-LANG", [invitee("C-3001", "sv", phone=None), invitee("C-3002", "fi", phone=None)]))
    assert status == 202
    for m in await svc.runtime.store.get_many(answer["messages"]):
        mails[("invitation", m.refs["client"])] = m.id
    from notifier.resources import LOCALE_DIR
    from notifier.i18n import load_translations

    footer = "This message was sent automatically. Please do not reply to it; use the contact details above."
    expected = {  # per language: words of the letter, the layout's footer from the catalog, the other's words
        lang: (words, load_translations(LOCALE_DIR, lang).gettext(footer), foreign)
        for lang, words, foreign in (("fi", ["Palvelu on velvoittava", "ma 30.11.2026"], ["Tjänsten", "Hej "]),
                                     ("sv", ["Tjänsten är obligatorisk", "mån 30.11.2026"], ["Palvelu", "Hei "]))
    }
    assert expected["fi"][1] != footer and expected["sv"][1] != footer  # both translated
    for (kind, client_id), message_id in mails.items():
        path = svc.outbox / "email" / f"{message_id}.eml"
        await wait_for(path.exists)
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        language = "sv" if client_id.startswith(("C-2", "C-3001")) else "fi"
        words, html_string, foreign = expected[language]
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert msg["Content-Language"] == language, (kind, client_id)
        assert f'<html lang="{language}">' in html, (kind, client_id)
        for part in (text, html):
            assert html_string in part, (kind, client_id, part[:300])
            assert not [w for w in foreign if w in part], (kind, client_id, part[:300])
        if kind == "referral":
            for part in (text, html):
                assert all(w in part for w in words), (kind, client_id, part[:300])


async def test_a_name_given_in_one_language_only_is_used_and_shown_as_a_fallback(start_service):
    svc = await start_service()
    data = referral("C-2002", "sv")
    data["office"] = {"name": {"fi": "Salon kaupungin työllisyyspalvelut"}, "phone": "02 778 1000"}
    status, answer = await svc.case.send("client.referred", data)
    assert status == 202
    [message_id] = answer["messages"]
    path = svc.outbox / "email" / f"{message_id}.eml"
    await wait_for(path.exists)
    text = message_from_bytes(path.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()
    assert "Salon kaupungin työllisyyspalvelut" in text  # the Finnish name rather than none
    status, view = await svc.api("GET", f"/api/messages/{message_id}")
    assert status == 200 and view["name_fallback"] == ["office.name"]
    # The same event for a Finnish client needs no fallback.
    status, answer = await svc.case.send("client.referred", {**data, "client": {**data["client"], "id": "C-1002",
                                                                                "language": "fi"}})
    status, view = await svc.api("GET", f"/api/messages/{answer['messages'][0]}")
    assert view["name_fallback"] == []


async def test_a_name_object_without_either_language_is_refused_naming_the_field(start_service):
    svc = await start_service(worker=False)
    data = referral("C-2003", "sv")
    data["office"] = {"name": {"en": "Employment area"}}
    status, problem = await svc.case.send("client.referred", data)
    assert status == 422
    assert {e["field"] for e in problem["errors"]} == {"data.office.name"}
