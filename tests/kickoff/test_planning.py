"""Kickoff planning as pure functions: who gets which message, when, and what the session becomes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from notifier.casework.events import (
    Client,
    KickoffAttendance,
    KickoffCancelled,
    KickoffScheduled,
    KickoffSession,
    Location,
    Party,
    SessionStaff,
)
from notifier.kickoff.planning import (
    CALL_PROMPTS,
    CANCELLATION,
    CANCELLATION_SMS,
    INVITATION,
    INVITATION_SMS,
    NO_SHOW,
    NO_SHOW_EMAIL,
    REMINDER,
    contact_for,
    plan_attendance,
    plan_cancellation,
    plan_scheduled,
    reminder_at,
)
from notifier.kickoff.model import CANCELLED, KickoffState
from notifier.validation import Invalid

TZ = ZoneInfo("Europe/Helsinki")
OFFICE = Party("Turun seudun työllisyysalue", "02 262 3000")
STARTS = datetime.fromisoformat("2026-12-03T09:00:00+02:00")
NOW = datetime(2026, 11, 28, 8, 0, tzinfo=timezone.utc)


def session(starts: datetime = STARTS, staff_phone: str | None = None, staff_language: str = "sv") -> KickoffSession:
    return KickoffSession("S-1", starts, starts + timedelta(hours=2), "turku",
                          Location("Työnvälityspiste", "Ratapihankatu 36", "20100", "Turku"),
                          SessionStaff("ST-7", "Stina Holm", "stina@example.fi", staff_language, staff_phone))


EMAIL_AND_PHONE = Client("C-1", "Matti", "Meikäläinen", "fi", "matti@example.fi", "040 1234567")
PHONE_ONLY = Client("C-2", "Sven", "Åström", "sv", None, "050-765 4321")
EMAIL_ONLY = Client("C-3", "Pia", "Lind", "sv", "pia@example.fi", None)
LANDLINE_ONLY = Client("C-4", "Liisa", "Lanka", "fi", None, "02 123 4567")
NOTHING = Client("C-5", "Nora", "Nobody", "fi", None, None)
ALL = (EMAIL_AND_PHONE, PHONE_ONLY, EMAIL_ONLY, LANDLINE_ONLY, NOTHING)


def by_client(messages):
    out: dict[str, list] = {}
    for m in messages:
        out.setdefault(m.refs.get("client", "staff"), []).append(m)
    return out


def test_reminder_is_the_day_before_at_16_local_time():
    assert reminder_at(STARTS, TZ) == datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc)
    # Across the change to summer time: 16:00 EEST is 13:00 UTC.
    assert reminder_at(datetime.fromisoformat("2026-03-30T09:00:00+03:00"), TZ) == datetime(2026, 3, 29, 13, 0, tzinfo=timezone.utc)
    # A session just after midnight still gets its reminder the afternoon before.
    assert reminder_at(datetime.fromisoformat("2026-12-03T00:30:00+02:00"), TZ) == datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc)


def test_invitations_pick_the_channel_and_reminders_go_to_phones():
    plan = plan_scheduled(KickoffScheduled(session(), ALL), None, OFFICE, TZ, NOW)
    got = by_client(plan.messages)
    assert [(m.template, m.channel) for m in got["C-1"]] == [(INVITATION, "email"), (REMINDER, "sms")]
    assert [(m.template, m.channel, m.recipient.phone) for m in got["C-2"]] == [
        (INVITATION_SMS, "sms", "+358507654321"), (REMINDER, "sms", "+358507654321")]
    assert [(m.template, m.channel) for m in got["C-3"]] == [(INVITATION, "email")]
    assert [(m.template, m.failure) for m in got["C-4"]] == [(INVITATION_SMS, "invalid-phone"), (REMINDER, "invalid-phone")]
    assert [(m.template, m.channel, m.failure) for m in got["C-5"]] == [(INVITATION, "none", "no-channel")]
    reminder = got["C-1"][1]
    assert reminder.send_at == datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc)
    assert all(m.refs["session"] == "S-1" for m in plan.messages)
    assert {m.recipient.language for m in got["C-2"]} == {"sv"}
    assert plan.state.invitees == ALL and plan.state.status == "scheduled"


def test_no_reminder_once_its_time_has_passed():
    late = datetime(2026, 12, 2, 15, 0, tzinfo=timezone.utc)  # 17:00 in Helsinki, the day before
    plan = plan_scheduled(KickoffScheduled(session(), (EMAIL_AND_PHONE,)), None, OFFICE, TZ, late)
    assert [m.template for m in plan.messages] == [INVITATION]


def test_a_session_in_the_past_is_refused():
    with pytest.raises(Invalid) as exc:
        plan_scheduled(KickoffScheduled(session(), ALL), None, OFFICE, TZ, STARTS + timedelta(minutes=1))
    assert exc.value.errors[0].field == "data.session.starts_at"


def test_scheduling_again_invites_only_new_invitees():
    first = plan_scheduled(KickoffScheduled(session(), (EMAIL_AND_PHONE,)), None, OFFICE, TZ, NOW)
    moved_phone = replace(EMAIL_AND_PHONE, phone="050 999 8888")
    again = plan_scheduled(KickoffScheduled(session(), (moved_phone, EMAIL_ONLY)), first.state, OFFICE, TZ, NOW)
    assert {m.refs["client"] for m in again.messages} == {"C-3"}
    assert again.state.invitees == (moved_phone, EMAIL_ONLY)  # the latest contact details are kept


def test_scheduling_again_with_another_time_is_refused():
    first = plan_scheduled(KickoffScheduled(session(), (EMAIL_AND_PHONE,)), None, OFFICE, TZ, NOW)
    with pytest.raises(Invalid) as exc:
        plan_scheduled(KickoffScheduled(session(STARTS + timedelta(hours=1)), (EMAIL_AND_PHONE,)), first.state, OFFICE, TZ, NOW)
    assert exc.value.errors[0].field == "data.session.starts_at"
    with pytest.raises(Invalid) as exc:
        plan_scheduled(KickoffScheduled(session(), (EMAIL_AND_PHONE,)), replace(first.state, status=CANCELLED), OFFICE, TZ, NOW)
    assert exc.value.errors[0].field == "data.session.id"


def state() -> KickoffState:
    return KickoffState(session(), ALL)


def test_attendance_tells_every_absentee_and_prompts_staff_in_their_language():
    next_at = STARTS + timedelta(days=7)
    plan = plan_attendance(KickoffAttendance("S-1", ("C-3",), next_at), state(), OFFICE)
    got = by_client(plan.messages)
    assert "C-3" not in got
    assert [(m.template, m.channel) for m in got["C-1"]] == [(NO_SHOW, "sms")]
    assert [(m.template, m.channel) for m in got["C-2"]] == [(NO_SHOW, "sms")]
    assert [(m.template, m.failure) for m in got["C-4"]] == [(NO_SHOW, "invalid-phone")]  # landline, no e-mail
    assert [(m.template, m.failure) for m in got["C-5"]] == [(NO_SHOW, "no-channel")]
    assert got["C-1"][0].context["next_session_starts_at"] == next_at.isoformat()
    [staff_mail] = got["staff"]
    assert staff_mail.template == CALL_PROMPTS and staff_mail.channel == "email"
    assert staff_mail.recipient.language == "sv" and staff_mail.recipient.email == "stina@example.fi"
    assert staff_mail.refs == {"staff": "ST-7", "session": "S-1"}
    assert [r["name"] for r in staff_mail.context["prompts"]] == ["Matti Meikäläinen", "Sven Åström", "Liisa Lanka", "Nora Nobody"]
    assert staff_mail.context["correction"] is False
    assert [(p.client_id, p.language, p.phone) for p in plan.prompts] == [
        ("C-1", "fi", "+358401234567"), ("C-2", "sv", "+358507654321"),
        ("C-4", "fi", "+35821234567"),  # staff can call a landline
        ("C-5", "fi", None)]
    assert plan.state.notified == {"C-1", "C-2", "C-4", "C-5"} and plan.state.absent == ("C-1", "C-2", "C-4", "C-5")
    assert plan.state.attendance_count == 1


def test_invalid_mobile_with_email_gets_the_no_show_by_email_too():
    client = Client("C-9", "Iida", "Invalid", "fi", "iida@example.fi", "02 123 4567")
    plan = plan_attendance(KickoffAttendance("S-1", ()), KickoffState(session(), (client,)), OFFICE)
    assert [(m.template, m.channel, m.failure) for m in plan.messages if m.refs.get("client")] == [
        (NO_SHOW, "sms", "invalid-phone"), (NO_SHOW_EMAIL, "email", None)]


def test_correction_reaches_only_the_newly_absent():
    first = plan_attendance(KickoffAttendance("S-1", ("C-1", "C-3", "C-4", "C-5")), state(), OFFICE)
    assert {m.refs.get("client") for m in first.messages} == {"C-2", None}
    state_after = replace(first.state, prompts={"C-2": "p-1"})
    # Correction: C-2 was there after all, C-1 was not.
    second = plan_attendance(KickoffAttendance("S-1", ("C-2", "C-3", "C-4", "C-5")), state_after, OFFICE)
    got = by_client(second.messages)
    assert set(got) == {"C-1", "staff"}
    assert [p.client_id for p in second.prompts] == ["C-1"]
    mail = got["staff"][0]
    assert mail.context["correction"] is True and mail.context["new_count"] == 1
    assert [(r["name"], r["new"]) for r in mail.context["prompts"]] == [("Matti Meikäläinen", True)]
    assert second.state.notified == {"C-1", "C-2"} and second.state.absent == ("C-1",)
    # The same correction again sends nothing at all.
    third = plan_attendance(KickoffAttendance("S-1", ("C-2", "C-3", "C-4", "C-5")),
                            replace(second.state, prompts={"C-2": "p-1", "C-1": "p-2"}), OFFICE)
    assert third.messages == [] and third.prompts == []


def test_attendance_for_a_cancelled_session_is_refused():
    with pytest.raises(Invalid) as exc:
        plan_attendance(KickoffAttendance("S-1", ()), replace(state(), status=CANCELLED), OFFICE)
    assert exc.value.errors[0].field == "data.session_id"


def test_cancellation_tells_invitees_on_their_invitation_channel_and_drops_reminders():
    s = replace(state(), reminders={"C-1": "r-1", "C-2": "r-2"})
    plan = plan_cancellation(KickoffCancelled("S-1"), s, OFFICE, NOW)
    got = by_client(plan.messages)
    assert [(m.template, m.channel) for m in got["C-1"]] == [(CANCELLATION, "email")]
    assert [(m.template, m.channel) for m in got["C-2"]] == [(CANCELLATION_SMS, "sms")]
    assert [(m.template, m.failure) for m in got["C-5"]] == [(CANCELLATION, "no-channel")]
    assert sorted(plan.cancel) == ["r-1", "r-2"] and plan.state.status == CANCELLED
    again = plan_cancellation(KickoffCancelled("S-1"), plan.state, OFFICE, NOW)
    assert again.messages == [] and again.cancel == []


def test_a_session_that_took_place_cannot_be_cancelled():
    with pytest.raises(Invalid):
        plan_cancellation(KickoffCancelled("S-1"), replace(state(), attendance_count=1), OFFICE, NOW)
    with pytest.raises(Invalid):
        plan_cancellation(KickoffCancelled("S-1"), state(), OFFICE, STARTS + timedelta(hours=1))


def test_contact_is_the_staff_member_when_they_have_a_phone():
    assert contact_for(session(staff_phone="040 555 0000"), OFFICE) == {"name": "Stina Holm", "phone": "040 555 0000"}
    assert contact_for(session(), OFFICE) == {"name": "Turun seudun työllisyysalue", "phone": "02 262 3000"}


def test_contact_falls_back_to_the_provider_then_the_office_always_with_a_number():
    provider = Party("Työelämän Infopiste Oy", "040 111 2222")
    assert contact_for(session(), OFFICE, provider) == {"name": "Työelämän Infopiste Oy", "phone": "040 111 2222"}
    # The provider the event names wins over the configured one; without a phone, the office it is.
    named = replace(session(), provider=Party("Jobbcenter Ab", "040 333 4444"))
    assert contact_for(named, OFFICE, provider) == {"name": "Jobbcenter Ab", "phone": "040 333 4444"}
    assert contact_for(session(), OFFICE, Party("Työelämän Infopiste Oy")) == {
        "name": "Turun seudun työllisyysalue", "phone": "02 262 3000"}


def test_places_and_names_reach_each_client_in_their_language_and_fallbacks_are_recorded():
    from notifier.casework.names import Bilingual

    office = Party(Bilingual("Turun seudun työllisyysalue", "Åbonejdens sysselsättningsområde"), "02 262 3000")
    loc = Location(Bilingual("Työnvälityspiste", None), Bilingual("Ratapihankatu 36", "Bangårdsgatan 36"), "20100",
                   Bilingual("Turku", "Åbo"))
    s = replace(session(), location=loc)
    plan = plan_scheduled(KickoffScheduled(s, (EMAIL_AND_PHONE, PHONE_ONLY)), None, office, TZ, NOW)
    got = by_client(plan.messages)
    fi, sv = got["C-1"][0], got["C-2"][0]
    assert fi.context["location"]["address"] == "Työnvälityspiste, Ratapihankatu 36, 20100 Turku"
    assert sv.context["location"]["address"] == "Työnvälityspiste, Bangårdsgatan 36, 20100 Åbo"
    assert sv.context["office"]["name"] == "Åbonejdens sysselsättningsområde"
    assert fi.name_fallback == () and sv.name_fallback == ("location.name",)
    assert "name_fallback" not in sv.context
