"""Names in two languages: parsing, picking a language with a recorded fallback, configuration."""

from __future__ import annotations

import pytest

from notifier.casework.names import Bilingual, Localizer, read_bilingual
from notifier.app.config import ConfigError, Settings
from notifier.casework.events import Location, parse_event
from notifier.validation import Invalid, Reader

AREA = {"fi": "Turun seudun työllisyysalue", "sv": "Åbonejdens sysselsättningsområde"}


def read(value):
    r = Reader({"name": value}, "office")
    return read_bilingual(r, "name"), [e.to_dict() for e in r.errors]


def test_a_string_is_the_same_in_both_languages_and_never_a_fallback():
    name, errors = read("  Työelämän Infopiste Oy ")
    assert errors == [] and name == Bilingual("Työelämän Infopiste Oy", "Työelämän Infopiste Oy")
    assert name.pick("sv") == ("Työelämän Infopiste Oy", False)


def test_an_object_gives_each_language_its_form_and_the_missing_one_falls_back():
    name, errors = read(AREA)
    assert errors == [] and name.text("fi") == AREA["fi"] and name.text("sv") == AREA["sv"]
    only_fi, _ = read({"fi": "Salon kaupunki"})
    assert only_fi.pick("sv") == ("Salon kaupunki", True) and only_fi.pick("fi") == ("Salon kaupunki", False)


@pytest.mark.parametrize("value,field,detail", [
    ({}, "office.name", 'must give "fi" or "sv" (or be a string)'),
    ({"en": "Employment area"}, "office.name", 'must give "fi" or "sv" (or be a string)'),
    ({"fi": 5}, "office.name.fi", "must be a string"),
    ({"sv": "x" * 201}, "office.name.sv", "must be at most 200 characters"),
    ({"fi": "Turku\nÅbo"}, "office.name.fi", "must not contain control characters or line breaks"),
    (7, "office.name", "must be a string"),
    ("", "office.name", "must not be empty"),
])
def test_bad_names_are_named_by_field(value, field, detail):
    name, errors = read(value)
    assert name is None and errors == [{"field": field, "detail": detail}]


def test_stored_form_round_trips_and_reads_plain_strings_stored_before():
    for value in (Bilingual.same("Työnvälityspiste"), Bilingual(**AREA), Bilingual("Turku", None)):
        assert Bilingual.from_json(value.to_json()) == value
    assert Bilingual.same("Turku").to_json() == "Turku"
    assert Bilingual.from_json("Ratapihankatu 36") == Bilingual.same("Ratapihankatu 36")
    assert Bilingual.from_json(None) is None and Bilingual.from_json("") is None


def test_localizer_records_each_fallback_field_once():
    localize = Localizer("sv")
    assert localize(Bilingual("Turku", None), "location.city") == "Turku"
    assert localize(Bilingual("Turku", None), "location.city") == "Turku"
    assert localize(Bilingual(**AREA), "office.name") == AREA["sv"]
    assert localize(None, "location.street") == ""
    assert localize.fallbacks == ["location.city"]


def test_a_kickoff_location_in_both_languages():
    event = parse_event({"type": "kickoff.scheduled", "data": {
        "session": {"id": "S-1", "starts_at": "2026-12-03T09:00:00+02:00", "ends_at": "2026-12-03T11:00:00+02:00",
                    "site": "turku",
                    "location": {"name": "Työnvälityspiste", "street": {"fi": "Ratapihankatu 36", "sv": "Bangårdsgatan 36"},
                                 "postal_code": "20100", "city": {"fi": "Turku", "sv": "Åbo"}},
                    "staff": {"id": "ST-7", "name": "Maija", "email": "maija@example.fi", "language": "fi"},
                    "provider": {"name": {"fi": "Työelämän Infopiste Oy"}, "phone": "02 123 4567"}},
        "invitees": [{"id": "C-1", "first_name": "Sven", "last_name": "Åström", "language": "sv"}]}})
    loc: Location = event.session.location
    assert loc.address_in("sv") == "Työnvälityspiste, Bangårdsgatan 36, 20100 Åbo"
    assert loc.address_in("fi") == loc.address == "Työnvälityspiste, Ratapihankatu 36, 20100 Turku"
    assert event.session.provider.name.text("sv") == "Työelämän Infopiste Oy"


def test_a_location_without_a_usable_name_is_refused_naming_the_field():
    with pytest.raises(Invalid) as exc:
        parse_event({"type": "kickoff.scheduled", "data": {
            "session": {"id": "S-1", "starts_at": "2026-12-03T09:00:00+02:00", "ends_at": "2026-12-03T11:00:00+02:00",
                        "site": "turku", "location": {"name": {"fi": ""}, "city": {"sv": 3}},
                        "staff": {"id": "ST-7", "name": "Maija", "email": "maija@example.fi", "language": "fi"}},
            "invitees": [{"id": "C-1", "first_name": "Sven", "last_name": "Åström", "language": "sv"}]}})
    assert {e.field for e in exc.value.errors} == {"data.session.location.name", "data.session.location.city.sv"}


def test_configuration_names_in_two_languages_with_neutral_defaults():
    default = Settings.from_env({})
    assert default.office.name == Bilingual("Työllisyyspalvelut", "Sysselsättningstjänsterna")
    assert default.provider.name == Bilingual("Palveluntuottaja", "Serviceproducenten")
    assert default.office.phone is None and len(default.sms_sender) <= 11 and "TE" not in default.sms_sender
    both = Settings.from_env({"NOTIFIER_OFFICE_NAME_FI": AREA["fi"], "NOTIFIER_OFFICE_NAME_SV": AREA["sv"]})
    assert both.office.name == Bilingual(**AREA)
    one = Settings.from_env({"NOTIFIER_OFFICE_NAME": "Salon kaupunki", "NOTIFIER_OFFICE_NAME_SV": "Salo stad"})
    assert one.office.name == Bilingual("Salon kaupunki", "Salo stad")
    only_fi = Settings.from_env({"NOTIFIER_PROVIDER_NAME_FI": "Työelämän Infopiste Oy"})
    assert only_fi.provider.name == Bilingual("Työelämän Infopiste Oy", None)
    with pytest.raises(ConfigError, match="NOTIFIER_OFFICE_NAME_SV"):
        Settings.from_env({"NOTIFIER_OFFICE_NAME_SV": "Åbo\nTurku"})


def test_one_party_type_for_events_and_configuration():
    from notifier.app import config
    from notifier.casework import events
    from notifier.casework import names

    assert events.Party is config.Party is names.Party
    assert names.Party("Salon kaupunki", "", "") == names.Party(Bilingual.same("Salon kaupunki"))
