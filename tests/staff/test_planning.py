"""Pure planning for staff communication: who is concerned, digest windows, audiences, reports."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from arq.cron import next_cron

from notifier.app.config import ConfigError, Settings, parse_digest_schedule
from notifier.staff.digest import digest_cron_jobs
from notifier.staff.model import Announcement, Audience, PracticeChange, StaffMember
from notifier.staff.planning import (
    DigestLinks,
    DigestSelection,
    acknowledgement_report,
    concerns,
    localized,
    next_cutoff,
    parse_week,
    plan_announcement,
    plan_digest,
    select_audience,
    select_digest,
    week_label,
)

HEL = ZoneInfo("Europe/Helsinki")
CUTOFF = datetime(2026, 12, 7, 5, 0, tzinfo=timezone.utc)  # Monday 7.00 in Helsinki


def member(sid: str = "T-1", site: str = "turku", org: str = "te-office", lang: str = "fi", **kw) -> StaffMember:
    return StaffMember(id=sid, name=f"Name {sid}", email=f"{sid.lower()}@te.example", language=lang,
                       organisation=org, site=site, nonce="n", **kw)


def change(cid: str, days_before_cutoff: float, sites=(), orgs=(), sv: bool = True) -> PracticeChange:
    title = {"fi": f"Otsikko {cid}", **({"sv": f"Rubrik {cid}"} if sv else {})}
    body = {"fi": f"Teksti {cid}", **({"sv": f"Text {cid}"} if sv else {})}
    return PracticeChange(cid, title, body, date(2026, 12, 14), CUTOFF - timedelta(days=days_before_cutoff),
                          tuple(sites), tuple(orgs))


def links(*ids: str) -> DigestLinks:
    return DigestLinks("https://n/preferences/p", "https://n/unsubscribe/u", {i: f"https://n/acknowledge/{i}" for i in ids})


# -- concerns and language ------------------------------------------------------------------------


def test_no_sites_or_organisations_concerns_everyone():
    c = change("a", 1)
    assert concerns(c, member(site="turku")) and concerns(c, member(site="salo", org="provider"))


def test_sites_and_organisations_narrow_each_other():
    c = change("a", 1, sites=["salo"], orgs=["te-office"])
    assert concerns(c, member(site="salo", org="te-office"))
    assert not concerns(c, member(site="salo", org="provider"))
    assert not concerns(c, member(site="turku", org="te-office"))
    assert concerns(change("b", 1, orgs=["provider"]), member(site="turku", org="provider"))


def test_swedish_falls_back_to_finnish_marked_untranslated():
    assert localized({"fi": "Hei", "sv": "Hej"}, "sv") == ("Hej", True)
    assert localized({"fi": "Hei"}, "sv") == ("Hei", False)
    assert localized({"fi": "Hei"}, "fi") == ("Hei", True)


# -- digest windows -------------------------------------------------------------------------------


def test_first_digest_has_last_week_as_new_and_older_unacknowledged_as_reminders():
    changes = [change("old", 40), change("month", 20), change("week", 3), change("future", -1)]
    sel = select_digest(member(), changes, previous_cutoff=None, cutoff=CUTOFF, acknowledged=set())
    assert [c.id for c in sel.new] == ["week"]
    assert [c.id for c in sel.earlier] == ["month"]  # "old" is past the four weeks, "future" after the cutoff


def test_window_follows_previous_digest_so_nothing_is_listed_as_new_twice():
    changes = [change("a", 10), change("b", 5), change("c", 1)]
    previous = CUTOFF - timedelta(days=6)
    sel = select_digest(member(), changes, previous_cutoff=previous, cutoff=CUTOFF, acknowledged={"a"})
    assert [c.id for c in sel.new] == ["b", "c"]
    assert sel.earlier == ()  # "a" was acknowledged
    sel2 = select_digest(member(), changes, previous_cutoff=previous, cutoff=CUTOFF, acknowledged=set())
    assert [c.id for c in sel2.earlier] == ["a"]


def test_change_posted_exactly_at_cutoff_is_in_this_digest_not_the_next():
    c = change("edge", 0)
    this = select_digest(member(), [c], previous_cutoff=CUTOFF - timedelta(days=7), cutoff=CUTOFF, acknowledged=set())
    later = select_digest(member(), [c], previous_cutoff=CUTOFF, cutoff=CUTOFF + timedelta(days=7), acknowledged=set())
    assert [x.id for x in this.new] == ["edge"] and later.new == ()


def test_late_job_of_an_older_run_finds_nothing_and_never_moves_the_window_back():
    changes = [change("a", 3)]
    sel = select_digest(member(), changes, previous_cutoff=CUTOFF + timedelta(hours=1), cutoff=CUTOFF, acknowledged=set())
    assert sel.empty
    assert next_cutoff(CUTOFF + timedelta(hours=1), CUTOFF) == CUTOFF + timedelta(hours=1)
    assert next_cutoff(None, CUTOFF) == CUTOFF


def test_other_sites_changes_are_not_in_the_digest():
    changes = [change("salo", 1, sites=["salo"]), change("all", 2)]
    sel = select_digest(member(site="turku"), changes, previous_cutoff=None, cutoff=CUTOFF, acknowledged=set())
    assert [c.id for c in sel.new] == ["all"]


def test_reminders_alone_make_no_digest():
    sel = DigestSelection(new=(), earlier=(change("a", 10),))
    assert plan_digest(member(), sel, "2026-W50", links("a")) is None


def test_plan_digest_groups_everyone_before_targeted_and_carries_links():
    sel = DigestSelection(new=(change("t", 2, sites=["turku"]), change("e", 1)), earlier=(change("r", 10, sv=False),))
    planned = plan_digest(member(lang="sv"), sel, "2026-W50", links("t", "e", "r"))
    assert planned is not None
    ctx = planned.context
    assert [g["key"] for g in ctx["groups"]] == ["everyone", "targeted"]
    assert [c["id"] for c in ctx["groups"][0]["changes"]] == ["e"]
    assert ctx["groups"][0]["changes"][0]["title"] == "Rubrik e"
    assert ctx["earlier"][0]["title"] == "Otsikko r" and ctx["earlier"][0]["translated"] is False
    assert ctx["earlier"][0]["ack_url"] == "https://n/acknowledge/r"
    assert ctx["unsubscribe_url"] == "https://n/unsubscribe/u" and ctx["week_number"] == 50
    assert planned.refs == {"staff": "T-1", "digest": "2026-W50"}
    assert planned.template == "digest" and planned.channel == "email" and planned.recipient.language == "sv"


def test_opted_out_member_gets_no_digest():
    sel = DigestSelection(new=(change("a", 1),))
    assert plan_digest(member(digest=False), sel, "2026-W50", links("a")) is None


# -- weeks and the schedule -----------------------------------------------------------------------


def test_iso_weeks():
    assert week_label(date(2026, 12, 7)) == "2026-W50"
    assert week_label(date(2027, 1, 1)) == "2026-W53"  # Friday of the last week of 2026
    assert parse_week("2026-W53") == "2026-W53"
    assert parse_week("2025-W53") is None  # 2025 has 52 weeks
    assert parse_week("2026-W5") is None and parse_week("W49") is None


def test_digest_schedule_setting():
    assert parse_digest_schedule("mon 07:00") == (0, 7, 0)
    assert parse_digest_schedule("Friday 15:30") == (4, 15, 30)
    assert parse_digest_schedule("off") is None
    with pytest.raises(ConfigError):
        parse_digest_schedule("monday 25:00")
    assert Settings.from_env({}).digest_schedule == (0, 7, 0)


@pytest.mark.parametrize("after", [
    datetime(2026, 1, 6, 12, 0, tzinfo=HEL),   # winter (UTC+2)
    datetime(2026, 6, 30, 12, 0, tzinfo=HEL),  # summer (UTC+3)
    datetime(2026, 3, 24, 12, 0, tzinfo=HEL),  # the week daylight saving starts
])
def test_cron_fires_monday_seven_helsinki_time_across_daylight_saving(after):
    [job] = digest_cron_jobs(Settings())
    nxt = next_cron(after, weekday=job.weekday, hour=job.hour, minute=job.minute, second=job.second,
                    microsecond=job.microsecond)
    assert nxt.weekday() == 0 and (nxt.hour, nxt.minute) == (7, 0)
    assert nxt.tzinfo == HEL


def test_no_cron_when_schedule_is_off():
    assert digest_cron_jobs(Settings(digest_schedule=None)) == []


# -- acknowledgements and audiences ---------------------------------------------------------------


def test_acknowledgement_report_per_organisation_and_site():
    staff = [member("T-1"), member("T-2"), member("S-1", site="salo"), member("P-1", site="turku", org="provider")]
    at = datetime(2026, 12, 8, 9, 0, tzinfo=timezone.utc)
    groups = acknowledgement_report(change("a", 1, sites=["turku"]), staff, {"T-2": at, "S-1": at})
    assert [(g.organisation, g.site) for g in groups] == [("provider", "turku"), ("te-office", "turku")]
    te = groups[1]
    assert [m.id for m, _ in te.acknowledged] == ["T-2"] and [m.id for m in te.not_acknowledged] == ["T-1"]
    assert [m.id for m in groups[0].not_acknowledged] == ["P-1"]  # S-1 is not concerned: not listed


def test_audience_site_filter_plus_named_people_and_everyone_by_default():
    staff = [member("T-1"), member("S-1", site="salo"), member("S-2", site="salo", org="provider", digest=False)]
    assert [m.id for m in select_audience(staff, Audience(sites=("salo",)))] == ["S-1", "S-2"]  # opt-out ignored
    assert [m.id for m in select_audience(staff, Audience(sites=("salo",), organisations=("provider",)))] == ["S-2"]
    assert [m.id for m in select_audience(staff, Audience(sites=("salo",), staff_ids=("T-1",)))] == ["S-1", "S-2", "T-1"]
    assert [m.id for m in select_audience(staff, Audience(staff_ids=("T-1",)))] == ["T-1"]
    assert len(select_audience(staff, Audience())) == 3
    assert select_audience(staff, Audience(sites=("rauma",))) == []


def test_announcement_one_message_per_recipient_and_channel_in_their_language():
    a = Announcement("A-1", {"fi": "Aihe", "sv": "Ämne"}, {"fi": "Runko"}, Audience(), ("email", "sms"))
    people = [member("T-1", lang="sv", phone="+358401234567"), member("T-2", phone="+35822345678")]
    planned = plan_announcement(a, people, {"T-1": "+358401234567", "T-2": None})
    assert [(p.refs["staff"], p.channel) for p in planned] == [("T-1", "email"), ("T-1", "sms"), ("T-2", "email"), ("T-2", "sms")]
    t1_email, t1_sms, _, t2_sms = planned
    assert t1_email.context["subject"] == "Ämne" and t1_email.context["body"] == "Runko"
    assert t1_email.context["translated"] is False
    assert t1_sms.recipient.phone == "+358401234567" and t1_sms.template == "announcement-sms" and t1_sms.failure is None
    assert t2_sms.failure == "no-mobile-number"  # a landline cannot take an SMS: recorded, not dropped


def test_worker_runs_the_digest_jobs_and_the_weekly_cron_in_helsinki_time():
    from notifier.app.worker import make_worker

    worker = make_worker(Settings(redis_url="redis://127.0.0.1:1/0"), handle_signals=False)
    [job] = [c for c in worker.cron_jobs if c.name == "weekly_digest"]
    assert (job.weekday, job.hour, job.minute, job.second) == (0, 7, 0, 0)
    from notifier.app.worker import work_handlers

    assert worker.timezone == HEL and "digest_for" in work_handlers({})  # read from the work stream
