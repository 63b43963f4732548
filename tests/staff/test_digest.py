"""The weekly digest end to end: content, language, filtering, list headers, acknowledgements,
and exactly one digest per person per week under concurrent runs and reruns after a crash.
Real Redis, real SMTP, real workers."""

from __future__ import annotations

import asyncio
import json

from tests.support.service import wait_for
from notifier.app import cli
from notifier.staff.digest import digest_for, digest_many, run_report, start_run, weekly_digest_job
from notifier.staff.planning import week_label
from notifier.staff.links import Links
from notifier.messages.queue import queue_length
from tests.support.staff import (
    GENERAL,
    SALO_FI,
    SALO_ONLY,
    SALO_SV,
    TURKU_FI,
    TURKU_SV,
    finished_run,
    html_of,
    links_in,
    local_path,
    mails_to,
    post_change,
    put_staff,
    run_digest,
    staff_service,
    text_of,
)

EVERYONE = {"T-1": TURKU_FI, "P-1": TURKU_SV, "S-1": SALO_FI, "S-2": SALO_SV}


async def directory(svc, people=EVERYONE) -> None:  # type: ignore[no-untyped-def]
    for staff_id, body in people.items():
        await put_staff(svc, staff_id, body)


async def test_digest_in_each_persons_language_with_their_sites_changes(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    await directory(svc)
    general = await post_change(svc, GENERAL)
    salo = await post_change(svc, SALO_ONLY)
    report = await run_digest(svc)
    assert (report["sent"], report["failed"], report["pending"], report["digests"]) == (4, 0, 0, 4)
    assert len(sink.messages) == 4

    [fi_turku] = mails_to(sink, TURKU_FI["email"])
    text = text_of(fi_turku)
    assert fi_turku["Subject"].startswith("Muuttuneet käytännöt, viikko ")
    assert fi_turku["Content-Language"] == "fi"
    assert "Uusi ohjauslomake" in text and "Voimassa ma 7.12.2026 alkaen" in text
    assert "Salon alkuinfot" not in text  # a Salo change does not reach Turku
    assert len(links_in(text, "acknowledge")) == 1

    [sv_salo] = mails_to(sink, SALO_SV["email"])
    text = text_of(sv_salo)
    assert sv_salo["Subject"].startswith("Ändrade arbetssätt, vecka ")
    assert "Ny hänvisningsblankett" in text and "Gäller från och med mån 7.12.2026" in text
    # Swedish missing: the Finnish text, marked as untranslated, under the site's own group
    assert "Salon alkuinfot torstaisin" in text
    assert "Denna ändring har inte översatts till svenska; den visas på finska." in text
    assert text.index("För alla") < text.index("För ditt verksamhetsställe eller din organisation")
    assert text.index("Ny hänvisningsblankett") < text.index("Salon alkuinfot")
    assert len(links_in(text, "acknowledge")) == 2
    html = html_of(sv_salo)
    assert 'lang="sv"' in html and "Jag har läst detta" in html and "/acknowledge/" in html

    # every digest is an ordinary message with a status history
    status, listing = await svc.api("GET", "/api/messages", params={"staff_id": "S-2"})
    [m] = listing["messages"]
    assert m["template"] == "digest" and m["status"] == "sent" and m["digest_id"] == report["week"]
    assert [h["status"] for h in m["history"]] == ["created", "sending", "sent"]
    record = json.loads(await svc.runtime.redis.hget("notifier:staff:S-2:digests", report["week"]))
    assert set(record["changes"]) == {general, salo}


async def test_digest_carries_one_click_unsubscribe_and_list_headers(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp, mail_from="muutokset@tyollisyysalue.example")
    await directory(svc, {"T-1": TURKU_FI})
    await post_change(svc, GENERAL)
    await run_digest(svc)
    [mail] = sink.messages
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Unsubscribe"].startswith("<http://notifier.test/unsubscribe/") and mail["List-Unsubscribe"].endswith(">")
    assert mail["List-Id"] == "Practice changes <practice-changes.tyollisyysalue.example>"
    text = text_of(mail)
    assert links_in(text, "preferences") and links_in(text, "unsubscribe")[0] == mail["List-Unsubscribe"].strip("<>")


async def test_nothing_new_means_no_email_and_opted_out_people_are_skipped(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    await directory(svc, {"T-1": TURKU_FI, "P-1": {**TURKU_SV, "digest": False}, "S-1": SALO_FI})
    await post_change(svc, SALO_ONLY)
    report = await run_digest(svc)
    assert [m["To"].addresses[0].addr_spec for m in sink.messages] == [SALO_FI["email"]]
    assert report["skipped"] == {"already_this_week": 0, "nothing_new": 1, "opted_out": 1}
    assert (report["staff"], report["recipients"], report["sent"]) == (3, 2, 1)


async def test_exactly_once_under_concurrent_runs_on_two_workers(start_service, smtp):
    sink, _ = smtp
    svc1 = await staff_service(start_service, smtp)
    svc2 = await staff_service(start_service, smtp)  # a second web server and worker on the same Redis
    people = {f"T-{i}": {**TURKU_FI, "name": f"Person {i}", "email": f"person{i}@tyollisyysalue.example"} for i in range(12)}
    await directory(svc1, people)
    await post_change(svc1, GENERAL)
    # the cron of both workers and two coordinators pressing "run" at the same moment
    ctx = {"runtime": svc1.runtime}
    answers = await asyncio.gather(
        svc1.api("POST", "/api/digests/run", json={}), svc2.api("POST", "/api/digests/run", json={}),
        weekly_digest_job(ctx), weekly_digest_job({"runtime": svc2.runtime}),
    )
    run_ids = [a[1]["id"] for a in answers[:2]] + list(answers[2:])
    reports = [await finished_run(svc1, r) for r in run_ids]
    assert sum(r["digests"] for r in reports) == 12
    assert sum(r["skipped"]["already_this_week"] for r in reports) == 3 * 12
    assert sum(r["sent"] for r in reports) == 12 and all(r["failed"] == 0 for r in reports)
    assert sorted(m["To"].addresses[0].addr_spec for m in sink.messages) == sorted(p["email"] for p in people.values())
    # and once more, by hand, later the same week: nobody gets a second one
    again = await run_digest(svc2)
    assert again["digests"] == 0 and again["skipped"]["already_this_week"] == 12
    assert len(sink.messages) == 12


async def test_a_change_posted_between_two_runs_in_one_week_sends_no_second_digest(start_service, smtp):
    """At most one digest per person per week, counted in e-mails: a second run the same week, with
    something new to tell, sends nobody a second one (the new change waits for next week's)."""
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    await directory(svc, {"T-1": TURKU_FI, "S-2": SALO_SV})
    await post_change(svc, GENERAL)
    first = await run_digest(svc)
    assert first["sent"] == 2 and len(sink.messages) == 2
    await post_change(svc, SALO_ONLY)  # new for S-2
    second = await run_digest(svc)
    assert second["week"] == first["week"] and second["complete"]
    assert second["digests"] == 0 and second["skipped"]["already_this_week"] == 2, second
    assert len(sink.messages) == 2
    assert len(mails_to(sink, SALO_SV["email"])) == 1 and len(mails_to(sink, TURKU_FI["email"])) == 1
    # Nothing is left queued that could still send one.
    status, listing = await svc.api("GET", "/api/messages", params={"staff_id": "S-2"})
    assert [m["template"] for m in listing["messages"]] == ["digest"]


async def test_rerun_after_a_crash_halfway_sends_the_rest_once(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp, worker=False)
    people = {f"T-{i}": {**TURKU_FI, "name": f"Person {i}", "email": f"person{i}@tyollisyysalue.example"} for i in range(6)}
    await directory(svc, people)
    await post_change(svc, GENERAL)
    first = await start_run(svc.runtime, None, "api")  # queued; no worker is running yet
    # A worker takes the first half, stores their digests, and dies before sending any of them
    # or acknowledging its work items (so they are handed out again).
    links = Links.from_settings(svc.settings)
    for staff_id in ["T-0", "T-1", "T-2"]:
        assert await digest_for(svc.runtime, links, first, staff_id) == "created"
    assert await digest_for(svc.runtime, links, first, "T-0") == "already"  # a re-run of its own job
    report = await run_report(svc.runtime.redis, first)
    assert report is not None and report.counters["created"] == 3 and report.counters["already"] == 0
    assert not report.complete and not sink.messages
    # The operator reruns the week while the crashed run's jobs are still queued; workers start.
    second = await start_run(svc.runtime, None, "cli")
    worker = await staff_service(start_service, smtp)
    first_report, second_report = await finished_run(worker, first), await finished_run(worker, second)
    assert first_report["digests"] + second_report["digests"] == 6
    assert sorted(m["To"].addresses[0].addr_spec for m in sink.messages) == sorted(p["email"] for p in people.values())
    assert first_report["sent"] + second_report["sent"] == 6
    await wait_for(lambda: _nothing_queued(svc))  # every work item acknowledged once its work settled


async def test_batches_decided_at_once_still_give_each_person_one_digest(start_service):
    """`digest_many` stores a batch in one transaction; two batches of the same people at once (two
    runs of the week on two workers) conflict on the claims, and the losing one is decided person
    by person: everyone gets exactly one digest, and every job is counted once."""
    svc = await staff_service(start_service, worker=False)
    people = {f"T-{i}": {**TURKU_FI, "name": f"Person {i}", "email": f"person{i}@tyollisyysalue.example"} for i in range(8)}
    await directory(svc, {**people, "P-1": {**TURKU_SV, "digest": False}})
    await post_change(svc, GENERAL)
    runs = [await start_run(svc.runtime, None, "api"), await start_run(svc.runtime, None, "cli")]
    links = Links.from_settings(svc.settings)
    first, second = await asyncio.gather(*(digest_many(svc.runtime, links, [(r, s) for s in people]) for r in runs))
    for staff_id, a, b in zip(people, first, second):
        assert sorted([a, b]) == ["already", "created"], (staff_id, first, second)
    counters = [(await run_report(svc.runtime.redis, r)).counters for r in runs]  # type: ignore[union-attr]
    assert sum(c["created"] for c in counters) == 8 and sum(c["already"] for c in counters) == 8, counters
    assert [c["done"] for c in counters] == [8, 8], counters
    # Opted out (P-1), gone, twice in one batch (T-0), and done already: none gets a digest.
    odd = [(runs[1], "P-1"), (runs[1], "X-1"), (runs[1], "T-0"), (runs[1], "T-0"), (runs[1], "T-1")]
    assert await digest_many(svc.runtime, links, odd) == ["opted-out", "opted-out", "already", "already", "already"]
    messages = set()
    for r in runs:
        messages |= await svc.runtime.redis.smembers(f"notifier:digest:run:{r}:messages")
    assert len(messages) == 8
    for staff_id in people:
        status, listing = await svc.api("GET", "/api/messages", params={"staff_id": staff_id})
        assert [m["template"] for m in listing["messages"]] == ["digest"], staff_id


async def _nothing_queued(svc) -> bool:
    return await queue_length(svc.runtime.redis) == 0


async def test_acknowledgements_are_recorded_and_reported_and_reminded(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    await directory(svc)
    general = await post_change(svc, GENERAL)
    salo = await post_change(svc, SALO_ONLY)
    await run_digest(svc, week=week_label_now(svc, weeks_ago=1))  # last week's run, done late
    [sami] = mails_to(sink, SALO_FI["email"])
    ack = {url: local_path(url, svc) for url in links_in(text_of(sami), "acknowledge")}
    general_url, salo_url = list(ack.values())

    status, report = await svc.api("GET", f"/api/practice-changes/{salo}/acknowledgements")
    assert status == 200 and (report["concerned"], report["acknowledged"]) == (2, 0)

    async with svc.http.get(general_url) as resp:  # opening the link shows the change and a button
        assert resp.status == 200 and "Olen lukenut tämän" in await resp.text()
    assert (await svc.api("GET", f"/api/practice-changes/{general}/acknowledgements"))[1]["acknowledged"] == 0
    async with svc.http.post(general_url) as resp:
        assert resp.status == 200 and "Kuittauksesi on tallennettu" in await resp.text()
    async with svc.http.post(general_url) as resp:  # twice: the first time counts
        assert resp.status == 200
    async with svc.http.get(general_url) as resp:
        assert "Kuittasit tämän" in await resp.text()

    status, report = await svc.api("GET", f"/api/practice-changes/{general}/acknowledgements")
    assert (report["concerned"], report["acknowledged"], report["not_acknowledged"]) == (4, 1, 3)
    groups = {(g["organisation"], g["site"]): g for g in report["groups"]}
    assert set(groups) == {("te-office", "turku"), ("provider", "turku"), ("te-office", "salo"), ("provider", "salo")}
    assert [p["id"] for p in groups[("te-office", "salo")]["acknowledged"]] == ["S-1"]
    assert groups[("te-office", "salo")]["acknowledged"][0]["at"].endswith(("+02:00", "+03:00"))
    assert [p["id"] for p in groups[("provider", "salo")]["not_acknowledged"]] == ["S-2"]

    # Next week: something new, and at the end what Sami has not acknowledged yet.
    newer = await post_change(svc, {**GENERAL, "title": {"fi": "Toinen muutos", "sv": "En annan ändring"}})
    await run_digest(svc)
    [_, second] = mails_to(sink, SALO_FI["email"])
    text = text_of(second)
    assert "Toinen muutos" in text
    assert "Aiemmilta viikoilta, vielä kuittaamatta" in text
    earlier = text.split("Aiemmilta viikoilta, vielä kuittaamatta")[1]
    assert "Salon alkuinfot torstaisin" in earlier and "Uusi ohjauslomake" not in text  # acknowledged: not repeated
    assert text.index("Toinen muutos") < text.index("Aiemmilta viikoilta")
    record = json.loads(await svc.runtime.redis.hget("notifier:staff:S-1:digests", week_label_now(svc)))
    assert record["changes"] == [newer] and record["reminders"] == [salo]


def week_label_now(svc, weeks_ago: int = 0) -> str:  # type: ignore[no-untyped-def]
    from datetime import datetime, timedelta

    return week_label(datetime.now(svc.settings.timezone).date() - timedelta(weeks=weeks_ago))


async def test_future_weeks_and_bad_weeks_are_refused(start_service):
    svc = await staff_service(start_service, worker=False)
    status, problem = await svc.api("POST", "/api/digests/run", json={"week": "2999-W01"})
    assert status == 422 and problem["errors"][0]["field"] == "week"
    status, problem = await svc.api("POST", "/api/digests/run", json={"week": "2026-W60"})
    assert status == 422 and problem["errors"][0]["field"] == "week"
    assert await svc.runtime.redis.zcard("notifier:digest:runs") == 0


async def test_notifier_digest_command(start_service, smtp, monkeypatch, capsys):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    await directory(svc, {"T-1": TURKU_FI, "S-1": SALO_FI})
    await post_change(svc, SALO_ONLY)
    monkeypatch.setenv("REDIS_URL", svc.settings.redis_url or "")
    monkeypatch.setenv("NOTIFIER_LOG_LEVEL", "WARNING")
    week = week_label_now(svc)
    code = await asyncio.to_thread(cli.main, ["digest", "--week", week, "--wait", "30"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"for {week}: 2 staff, 2 recipient(s)" in out
    assert "sent 1, pending 0, failed 0, skipped 1 (already this week 0, nothing new 1, opted out 0)" in out
    await wait_for(lambda: len(sink.messages) == 1)
    assert mails_to(sink, SALO_FI["email"])
    code = await asyncio.to_thread(cli.main, ["digest", "--wait", "30"])
    assert code == 0 and "sent 0, pending 0, failed 0, skipped 2 (already this week 2, nothing new 0" in capsys.readouterr().out
