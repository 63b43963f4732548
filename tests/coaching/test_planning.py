"""The coaching rhythm as pure functions, driven by an injected clock: deadlines, the working-day
rule on real Finnish dates, reminders planned once per deadline and cancelled by a contact."""

from __future__ import annotations

from dataclasses import replace as replace_state
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from msgspec import Struct
from msgspec.structs import replace as replace_struct

from notifier.casework.names import Bilingual
from notifier.casework.addressing import Address
from notifier.casework.events import (
    Client,
    ClientContacted,
    ClientReferred,
    Coach,
    CoachAssigned,
    Party,
    PlanMade,
    ServiceEnded,
)
from notifier.coaching.model import FIRST_CONTACT, MONTHLY_CONTACT, PLAN_RENEWAL, CoachingState, Rules
from notifier.coaching.planning import (
    REMINDER,
    SERVICE_ENDED,
    after_event,
    after_referral,
    coach_rows,
    deadlines,
    escalated,
    is_working_day,
    plan_reminders,
    plan_service_ended,
    plan_weekly,
    remind_at,
    working_day_on_or_before,
)
from notifier.validation import Invalid


def replace(obj, **changes):
    """Clients are msgspec Structs, coaching states and rules dataclasses."""
    return replace_struct(obj, **changes) if isinstance(obj, Struct) else replace_state(obj, **changes)

TZ = ZoneInfo("Europe/Helsinki")
RULES = Rules()
URL = "https://notifier.test"
COACH = Coach("K-1", "Kaisa Valmentaja", "kaisa@provider.example", "fi")
COACH_SV = Coach("K-2", "Karin Coach", "karin@provider.example", "sv")
CLIENT = Client("C-1", "Matti", "Meikäläinen", "fi", email="matti@example.fi")
OFFICE = Party("Turun seudun työllisyysalue", "02 262 3000")
PROVIDER = Party("Työelämän Infopiste Oy", "02 123 4567")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def referred(when: str, coach: Coach | None = COACH, client: Client = CLIENT) -> CoachingState:
    return after_referral(ClientReferred(client, at(when), OFFICE, PROVIDER, coach), None)


def plan(old, new, now, unsent=frozenset()):
    return plan_reminders(old, new, RULES, TZ, now, URL, Bilingual.same("Provider"), unsent)


def with_ids(state: CoachingState, p) -> CoachingState:
    ids = {k: f"m-{k}" for k in p.keys}
    return replace(state, reminders={**{k: v for k, v in state.reminders.items() if k not in p.forget}, **ids})


# -- the working-day rule on real dates -------------------------------------------------------------


@pytest.mark.parametrize("day, working", [
    (date(2026, 12, 4), True),    # Friday
    (date(2026, 12, 5), False),   # Saturday
    (date(2027, 12, 6), False),   # Independence Day on a Monday
    (date(2026, 6, 19), False),   # Midsummer Eve (Friday)
    (date(2026, 12, 24), False),  # Christmas Eve (Thursday)
    (date(2026, 4, 3), False),    # Good Friday
    (date(2026, 6, 18), True),
])
def test_finnish_working_days(day, working):
    assert is_working_day(day) is working


def test_reminder_day_on_a_holiday_moves_to_the_working_day_before():
    assert working_day_on_or_before(date(2027, 12, 6)) == date(2027, 12, 3)   # Mon holiday -> Fri
    assert working_day_on_or_before(date(2026, 6, 20)) == date(2026, 6, 18)   # Midsummer Day (Sat), Eve -> Thu
    assert working_day_on_or_before(date(2026, 12, 27)) == date(2026, 12, 23)  # Christmas -> 23.12.


def test_first_contact_reminder_on_independence_day_goes_the_friday_before():
    # referred Fri 26.11.2027 -> day 10 is Mon 6.12.2027, Independence Day
    state = referred("2027-11-26T10:00:00+02:00")
    [d] = deadlines(state, RULES, TZ)
    assert d.kind == FIRST_CONTACT and d.due == at("2027-12-10T10:00:00+02:00")
    assert d.remind_on == date(2027, 12, 3)
    assert remind_at(d, RULES, TZ) == at("2027-12-03T08:00:00+02:00")


def test_reminder_on_midsummer_eve_goes_on_thursday():
    # last contact 25 days before Midsummer Eve 2026 (Fri 19.6.)
    state = replace(referred("2026-05-01T09:00:00+03:00"), last_contact_at=at("2026-05-25T12:00:00+03:00"))
    [d] = deadlines(state, RULES, TZ)
    assert d.kind == MONTHLY_CONTACT and d.remind_on == date(2026, 6, 18)


# -- the "done means" -----------------------------------------------------------------------


def test_referral_eleven_days_old_reminds_at_once_and_todays_not_yet():
    now = at("2026-11-30T10:00:00+02:00")
    old = referred("2026-11-19T09:00:00+02:00")
    p = plan(None, old, now)
    [m] = p.messages
    assert m.template == REMINDER and m.send_at is None and m.recipient.email == COACH.email
    assert m.context["kind"] == FIRST_CONTACT and m.context["client_id"] == "C-1"
    assert m.context["client_name"] == "Matti Meikäläinen"
    assert m.context["contact_log_url"] == f"{URL}/console/messages?kind=client&id=C-1"
    assert m.refs == {"staff": "K-1", "coached_client": "C-1"}

    today = referred("2026-11-30T09:00:00+02:00")
    [later] = plan(None, today, now).messages
    assert later.send_at == at("2026-12-10T08:00:00+02:00")  # day 10, a Thursday: not now


def test_contact_26_days_ago_reminds_of_the_monthly_contact_at_once():
    now = at("2026-11-30T10:00:00+02:00")
    state = referred("2026-10-01T09:00:00+03:00")
    new = after_event(ClientContacted("C-1", at("2026-11-04T10:00:00+02:00")), state, now)
    p = plan(state, new, now)
    [m] = p.messages
    assert m.context["kind"] == MONTHLY_CONTACT and m.send_at is None
    assert m.context["due"] == at("2026-12-04T10:00:00+02:00").isoformat()


def test_each_deadline_is_reminded_once():
    now = at("2026-11-30T10:00:00+02:00")
    state = referred("2026-11-19T09:00:00+02:00")
    p = plan(None, state, now)
    state = with_ids(state, p)
    # the same state again (a repeated referral, a plan for later): nothing new for first contact
    again = plan(state, after_event(PlanMade("C-1", now), state, now), now)
    assert [m.context["kind"] for m in again.messages] == [PLAN_RENEWAL]
    assert not again.cancel


def test_contact_before_due_cancels_the_scheduled_reminder_and_plans_the_next():
    now = at("2026-11-30T10:00:00+02:00")
    state = referred("2026-11-28T09:00:00+02:00")
    p = plan(None, state, now)
    state = with_ids(state, p)
    [(key, mid)] = state.reminders.items()
    new = after_event(ClientContacted("C-1", now), state, now)
    p2 = plan(state, new, now, unsent=frozenset({mid}))
    assert p2.cancel == {mid: "deadline-met"}
    [m] = p2.messages
    assert m.context["kind"] == MONTHLY_CONTACT
    assert m.send_at == at("2026-12-24T08:00:00+02:00").astimezone(timezone.utc) - timedelta(days=1)  # 25.12. -> 23.12.


def test_out_of_order_contact_is_recorded_without_moving_the_deadline_back():
    now = at("2026-11-30T10:00:00+02:00")
    state = after_event(ClientContacted("C-1", at("2026-11-20T10:00:00+02:00")), referred("2026-11-01T09:00:00+02:00"), now)
    older = after_event(ClientContacted("C-1", at("2026-11-10T10:00:00+02:00")), state, now)
    assert older.last_contact_at == at("2026-11-20T10:00:00+02:00") and older.contacts == 2
    assert deadlines(older, RULES, TZ) == deadlines(state, RULES, TZ)
    stored = with_ids(state, plan(None, state, now))
    again = after_event(ClientContacted("C-1", at("2026-11-10T10:00:00+02:00")), stored, now)
    assert plan(stored, again, now, unsent=frozenset(stored.reminders.values())) == type(plan(stored, again, now))()


def test_event_in_the_future_is_refused_naming_at():
    now = at("2026-11-30T10:00:00+02:00")
    with pytest.raises(Invalid) as exc:
        after_event(ClientContacted("C-1", now + timedelta(hours=1)), referred("2026-11-01T09:00:00+02:00"), now)
    assert exc.value.errors[0].field == "data.at"
    after_event(ClientContacted("C-1", now + timedelta(minutes=1)), referred("2026-11-01T09:00:00+02:00"), now)  # skew


def test_plan_renewal_three_months_on_reminded_ten_days_before():
    now = at("2026-11-30T10:00:00+02:00")
    state = after_event(PlanMade("C-1", at("2026-11-30T09:00:00+02:00")), referred("2026-11-25T09:00:00+02:00"), now)
    kinds = {d.kind: d for d in deadlines(state, RULES, TZ)}
    d = kinds[PLAN_RENEWAL]
    assert d.due == at("2027-02-28T09:00:00+02:00")  # 30.11. + 3 months = 28.2. (calendar months)
    assert d.remind_on == date(2027, 2, 18)


def test_service_ended_cancels_everything_and_nothing_more_is_planned():
    now = at("2026-11-30T10:00:00+02:00")
    state = after_event(PlanMade("C-1", now), referred("2026-11-28T09:00:00+02:00"), now)
    state = with_ids(state, plan(None, state, now))
    assert len(state.reminders) == 2
    ended = after_event(ServiceEnded("C-1", now, "employed"), state, now)
    p = plan(state, ended, now, unsent=frozenset(state.reminders.values()))
    assert p.messages == [] and set(p.cancel.values()) == {"service-ended"}
    later = after_event(ClientContacted("C-1", now), ended, now)
    assert plan(ended, later, now).messages == []
    assert after_event(ServiceEnded("C-1", now, "moved"), ended, now) is ended  # a repeat changes nothing


def test_no_coach_no_reminders_until_one_is_assigned_then_to_the_new_coach():
    now = at("2026-11-30T10:00:00+02:00")
    state = referred("2026-11-19T09:00:00+02:00", coach=None)
    assert plan(None, state, now).messages == []
    assigned = after_event(CoachAssigned("C-1", COACH, now), state, now)
    [m] = plan(state, assigned, now).messages
    assert m.recipient.email == COACH.email


def test_change_of_coach_hands_unsent_reminders_over_but_never_repeats_a_sent_one():
    now = at("2026-11-30T10:00:00+02:00")
    state = referred("2026-11-28T09:00:00+02:00")
    state = with_ids(state, plan(None, state, now))
    [mid] = state.reminders.values()
    changed = after_event(CoachAssigned("C-1", COACH_SV, now), state, now)
    p = plan(state, changed, now, unsent=frozenset({mid}))
    assert p.cancel == {mid: "coach-changed"}
    [m] = p.messages
    assert m.recipient.email == COACH_SV.email and m.recipient.language == "sv"
    assert plan(state, changed, now, unsent=frozenset()).messages == []  # already sent: not again


def test_escalation_to_the_work_queue_from_day_15():
    state = referred("2026-11-01T09:00:00+02:00")
    assert not escalated(state, RULES, at("2026-11-16T08:00:00+02:00"))
    assert escalated(state, RULES, at("2026-11-16T09:00:00+02:00"))
    assert not escalated(after_event(ClientContacted("C-1", at("2026-11-20T09:00:00+02:00")), state,
                                     at("2026-11-30T09:00:00+02:00")), RULES, at("2026-11-30T09:00:00+02:00"))


def test_configured_deadlines_are_used():
    rules = replace(RULES, first_contact_days=7, first_contact_remind_day=5)
    [d] = deadlines(referred("2026-11-30T09:00:00+02:00"), rules, TZ)
    assert d.due == at("2026-12-07T09:00:00+02:00") and d.remind_on == date(2026, 12, 4)


# -- the weekly e-mail and the letter ---------------------------------------------------------------


def test_weekly_lists_active_clients_overdue_first_and_none_without_clients():
    now = at("2026-11-30T07:00:00+02:00")
    late = referred("2026-11-01T09:00:00+02:00", client=replace(CLIENT, id="C-late"))
    soon = referred("2026-11-25T09:00:00+02:00", client=replace(CLIENT, id="C-soon"))
    ended = after_event(ServiceEnded("C-x", now, "employed"), referred("2026-11-20T09:00:00+02:00",
                        client=replace(CLIENT, id="C-x")), now)
    m = plan_weekly(COACH, [soon, late, ended], RULES, TZ, now, "2026-W49", URL, Bilingual.same("Provider"))
    assert [c["id"] for c in m.context["clients"]] == ["C-late", "C-soon"]
    assert m.context["overdue"] == 1 and m.recipient.email == COACH.email
    assert plan_weekly(COACH_SV, [soon, late], RULES, TZ, now, "2026-W49", URL, Bilingual.same("Provider")) is None
    assert [r.client_id for r in coach_rows([soon, late], RULES, TZ, now)] == ["C-late", "C-soon"]


@pytest.mark.parametrize("client, suomifi, channel", [
    (replace(CLIENT, personal_id="131052-308T"), True, "suomifi"),
    (CLIENT, True, "email"),
    (replace(CLIENT, email=None, address=Address("Ratapihankatu 36", "20100", "Turku")), False, "letter"),
    (replace(CLIENT, email=None), False, "none"),
])
def test_end_of_service_letter_follows_the_referral_letter_channel_rules(client, suomifi, channel):
    now = at("2026-11-30T10:00:00+02:00")
    state = referred("2026-11-01T09:00:00+02:00", client=client)
    event = ServiceEnded("C-1", now, "term-ended", "https://feedback.example/x")
    [m] = plan_service_ended(state, event, OFFICE, PROVIDER, suomifi, RULES)
    assert m.template == SERVICE_ENDED and m.channel == channel
    assert m.context["duties_continue"] is True and m.context["feedback_url"] == "https://feedback.example/x"
    assert (m.failure == "no-channel") is (channel == "none")


def test_employed_client_is_not_reminded_of_duties_and_feedback_url_falls_back_to_configuration():
    now = at("2026-11-30T10:00:00+02:00")
    rules = replace(RULES, feedback_url="https://configured.example/")
    [m] = plan_service_ended(referred("2026-11-01T09:00:00+02:00"), ServiceEnded("C-1", now, "employed"),
                             OFFICE, PROVIDER, False, rules)
    assert m.context["duties_continue"] is False and m.context["feedback_url"] == "https://configured.example/"
