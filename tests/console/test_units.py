"""Fast tests of the console's pure parts: forms as API documents, errors next to their fields,
previews and reminders planned by the real planners, CSRF tokens bound to one visitor."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from notifier.app.config import Settings
from notifier.console.auth import ConsoleAuth, Visitor
from notifier.console.forms import (
    EMAIL_TAKEN,
    INVALID,
    ONE_LINE,
    REQUIRED,
    SEND_AT_PAST,
    SMS_TOO_LONG,
    TOO_LONG,
    announcement_document,
    change_document,
    fingerprint,
    form_errors,
    form_field,
    typed_date,
    typed_datetime,
)
from notifier.console.planning import (
    digest_preview,
    plan_reminders,
    plan_sign_in,
    preview_change,
    progress,
    reach,
)
from notifier.staff.planning import AckGroup
from notifier.staff.model import Announcement, Audience, PracticeChange, StaffMember
from notifier.staff.announcements import parse_announcement
from notifier.staff.contract import ChangeInput
from notifier.sealing import Sealer
from notifier.validation import FieldError, Invalid, validate

HKI = ZoneInfo("Europe/Helsinki")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
TIINA = StaffMember("T-1", "Tiina", "tiina@x.fi", "fi", "te-office", "turku", phone="+358401234567", nonce="n1")
SOFIA = StaffMember("T-2", "Sofia", "sofia@x.fi", "sv", "provider", "turku", nonce="n2")


def test_dates_as_people_type_them():
    assert typed_date("7.12.2026") == "2026-12-07" and typed_date(" 2026-12-07 ") == "2026-12-07"
    assert typed_date("31.2.2026") == "31.2.2026"  # left for the API's parser to name
    expected = datetime(2026, 12, 7, 8, 0, tzinfo=HKI)
    for typed in ("2026-12-07T08:00", "2026-12-07 8.00", "7.12.2026 klo 8.00", "7.12.2026 kl. 8:00", "7.12.2026 8.00"):
        assert typed_datetime(typed, HKI) == expected, typed
    for typed in ("huomenna", "31.2.2026 8.00", "2026-12-07", "2026-12-07T25:00"):
        assert typed_datetime(typed, HKI) is None, typed


def test_api_field_names_become_form_fields():
    assert form_field("title.fi") == "title_fi" and form_field("subject.sv") == "subject_sv"
    assert form_field("title") == "title_fi" and form_field("body") == "body_fi"
    assert form_field("audience.sites[3]") == "sites" and form_field("audience.staff_ids[0]") == "staff_ids"
    assert form_field("channels[1]") == "channels" and form_field("audience") == "audience"
    assert form_field("sites[0]") == "sites" and form_field("effective_from") == "effective_from"


def test_errors_say_what_to_do_and_only_the_first_per_field_counts():
    errors = form_errors([
        FieldError("title.fi", "is required"), FieldError("title.fi", "must not be empty"),
        FieldError("title.sv", "must be at most 200 characters"),
        FieldError("body.fi", "must not contain control characters or line breaks"),
        FieldError("effective_from", "must be a date YYYY-MM-DD"), FieldError("weird", "???"),
    ])
    assert errors["title_fi"].message == REQUIRED["title_fi"]
    assert errors["title_sv"].message == TOO_LONG and errors["title_sv"].params == {"max": 200}
    assert errors["body_fi"].message == ONE_LINE
    assert errors["effective_from"].message == INVALID["effective_from"]
    assert errors["weird"].message == "Check this field"


def test_a_too_long_sms_body_is_pointed_out_in_the_language_that_is_too_long():
    error = FieldError("body", "must be at most 640 characters when sent by SMS")
    assert set(form_errors([error], {"body_fi": "lyhyt", "body_sv": "x" * 641})) == {"body_sv"}
    both = form_errors([error], {"body_fi": "x" * 700, "body_sv": "x" * 641})
    assert set(both) == {"body_fi", "body_sv"} and both["body_fi"].message == SMS_TOO_LONG


def test_a_change_form_is_the_apis_document():
    values = {"title_fi": "Otsikko", "title_sv": " ", "body_fi": "Teksti", "body_sv": "", "effective_from": "7.12.2026",
              "sites": ["turku"], "organisations": []}
    data = validate(change_document(values), ChangeInput)
    assert data.title.as_dict() == {"fi": "Otsikko"} and data.effective_from == date(2026, 12, 7) and data.sites == ("turku",)
    try:
        validate(change_document({**values, "title_fi": ""}), ChangeInput)
    except Invalid as exc:
        assert [e.field for e in exc.errors] == ["title.fi"]
    else:
        raise AssertionError("an empty Finnish title must be refused")


def announcement_values(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {"subject_fi": "Aihe", "subject_sv": "", "body_fi": "Teksti", "body_sv": "",
                                 "when": "now", "send_at": "", "sites": ["salo"], "organisations": [],
                                 "staff_ids": [], "channels": ["email"]}
    values.update(changes)
    return values


def test_an_announcement_form_is_the_apis_document_and_its_time_must_be_ahead():
    document, errors = announcement_document(announcement_values(), HKI, NOW)
    assert errors == [] and document["send_at"] is None
    assert parse_announcement(document, NOW).audience == Audience(("salo",), (), ())
    later = announcement_values(when="later", send_at="7.12.2026 8.00")
    document, errors = announcement_document(later, HKI, NOW)
    assert errors == [] and document["send_at"] == "2026-12-07T08:00:00+02:00"
    assert parse_announcement(document, NOW).send_at == datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)
    for send_at, message in (("", REQUIRED["send_at"]), ("huomenna", INVALID["send_at"]), ("1.12.2026 11.59", SEND_AT_PAST)):
        _, errors = announcement_document(announcement_values(when="later", send_at=send_at), HKI, NOW)
        assert [(e.field, e.message) for e in errors] == [("send_at", message)], send_at
    _, errors = announcement_document(announcement_values(when="now", send_at="huomenna"), HKI, NOW)
    assert errors == []  # a time typed but "now" chosen: the time is ignored


def test_fingerprint_changes_with_any_content():
    document, _ = announcement_document(announcement_values(), HKI, NOW)
    same, _ = announcement_document(announcement_values(), HKI, NOW)
    other, _ = announcement_document(announcement_values(body_fi="Teksti!"), HKI, NOW)
    assert fingerprint(document) == fingerprint(same) != fingerprint(other)
    assert EMAIL_TAKEN.count("%(id)s") == 1


def change(**kw: object) -> PracticeChange:
    base: dict[str, object] = {"id": "c1", "title": {"fi": "Otsikko", "sv": "Rubrik"}, "body": {"fi": "Teksti"},
                               "effective_from": date(2026, 12, 7), "posted_at": NOW}
    base.update(kw)
    return PracticeChange(**base)  # type: ignore[arg-type]


def test_reminders_go_to_each_person_in_their_language_with_their_own_link():
    planned = plan_reminders(change(), [SOFIA, TIINA], {"T-1": "https://x/ack/1", "T-2": "https://x/ack/2"}, "r1")
    assert [(p.recipient.email, p.recipient.language, p.context["ack_url"]) for p in planned] == [
        ("tiina@x.fi", "fi", "https://x/ack/1"), ("sofia@x.fi", "sv", "https://x/ack/2")]
    assert planned[1].context["title"] == "Rubrik" and planned[1].context["translated"] is False  # body only in fi
    assert planned[0].refs == {"staff": "T-1", "change": "c1", "reminder": "r1"} and planned[0].template == "practice-change-reminder"


def test_digest_preview_is_the_digest_for_a_reader_the_change_concerns():
    targeted = digest_preview(change(sites=("salo",), organisations=("provider",)), "sv", "Sven", "2026-W49")
    assert targeted.template == "digest" and targeted.recipient.language == "sv"
    assert [g["key"] for g in targeted.context["groups"]] == ["targeted"]
    assert targeted.context["groups"][0]["changes"][0]["ack_url"] == "#" and targeted.context["unsubscribe_url"] == "#"
    everyone = digest_preview(preview_change({"fi": "A"}, {"fi": "B"}, date(2026, 12, 7), NOW), "fi", "Matti", "2026-W49")
    assert [g["key"] for g in everyone.context["groups"]] == ["everyone"] and everyone.context["week_number"] == 49


def test_progress_and_reach():
    groups = [AckGroup("te-office", "turku", ((TIINA, NOW),), ()), AckGroup("provider", "turku", (), (SOFIA,))]
    p = progress(groups)
    assert (p.acknowledged, p.concerned, p.percent) == (1, 2, 50) and progress([]).percent == 0
    both = Announcement("a1", {"fi": "A"}, {"fi": "B"}, Audience(), ("email", "sms"))
    r = reach(both, [TIINA, SOFIA], {"T-1": "+358401234567", "T-2": None})
    assert (r.recipients, r.emails, r.sms, r.without_mobile) == (2, 2, 1, 1)
    sms_only = Announcement("a2", {"fi": "A"}, {"fi": "B"}, Audience(), ("sms",))
    assert reach(sms_only, [TIINA], {"T-1": "+358401234567"}).emails == 0


def test_sign_in_mail_has_no_refs_and_goes_to_the_address():
    planned = plan_sign_in("kirsi@ely.fi", "sv", "https://x/console/sign-in/t")
    assert planned.recipient.email == "kirsi@ely.fi" and planned.refs == {} and planned.recipient.language == "sv"


def test_csrf_tokens_and_cookies_belong_to_one_visitor_and_one_secret():
    settings = Settings(signing_secrets=("new-secret", "old-secret"), coordinators=("a@b.fi",))
    auth = ConsoleAuth(None, Sealer(), settings)  # type: ignore[arg-type]
    me, other = Visitor("session-1", None), Visitor(None, "anon-1")
    token = auth.csrf_token(me)
    assert auth.csrf_ok(me, token) and not auth.csrf_ok(other, token) and not auth.csrf_ok(me, "")
    assert not auth.csrf_ok(Visitor(None, None), auth.csrf_token(Visitor(None, None)))  # no cookie, no form
    old = ConsoleAuth(None, Sealer(), Settings(signing_secrets=("old-secret",)))  # type: ignore[arg-type]
    assert auth.csrf_ok(me, old.csrf_token(me))  # still valid while the old secret is listed
    assert not ConsoleAuth(None, Sealer(), Settings(signing_secrets=("x",))).csrf_ok(me, token)  # type: ignore[arg-type]
    _, cookie = auth.anonymous_cookie()
    assert auth.read_cookie(cookie).anonymous_id and auth.read_cookie(cookie + "x") == Visitor(None, None)
    nonce, url = auth.new_link()
    token = url.rsplit("/", 1)[1]
    assert auth.link_nonce(token) == nonce and auth.link_nonce(auth.csrf_token(me)) is None
    assert Settings.from_env({"NOTIFIER_COORDINATORS": "A@B.fi"}).coordinators == ("a@b.fi",)
