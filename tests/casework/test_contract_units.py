"""The contract machinery (`notifier/validation.py`): every error with its path, one model for
validation and schema, `str | Struct` unions (the bilingual names of issue 13)."""

from __future__ import annotations

from typing import Annotated, Any, Callable

import msgspec
import pytest
from msgspec import Meta, Struct

from notifier.casework.events import Bilingual, Client
from notifier.validation import Count, Identifier, Invalid, Items, Text, validate, validate_value


class Place(Struct, frozen=True):
    name: Text(200) | Bilingual  # type: ignore[valid-type]


class Row(Struct, frozen=True):
    id: Identifier
    low: Text(10) | None = None  # type: ignore[valid-type]
    high: Text(10) | None = None  # type: ignore[valid-type]

    @staticmethod
    def cross_check(values: dict[str, Any], fail: Callable[[str, str], None]) -> None:
        if values.get("low") and values.get("high") and values["high"] < values["low"]:
            fail("high", "must not be before low")


class Table(Struct, frozen=True):
    rows: Annotated[tuple[Row, ...], Meta(min_length=1), Items(max_items=3, empty="must name at least one row",
                                                                 unique="id", duplicate="appears twice in rows")]
    places: tuple[Place, ...] = ()


def errors_of(document: Any, model: Any) -> list[tuple[str, str]]:
    with pytest.raises(Invalid) as caught:
        validate(document, model)
    return [(e.field, e.detail) for e in caught.value.errors]


def test_a_name_is_a_string_or_both_languages():
    assert validate({"name": " Turku "}, Place).name == "Turku"
    assert validate({"name": {"sv": "Åbo"}}, Place).name == Bilingual(None, "Åbo")
    assert errors_of({"name": {}}, Place) == [("name.fi", "give the name in Finnish, in Swedish or in both")]
    assert errors_of({"name": 7}, Place) == [("name", "must be a string")]


def test_every_error_is_named_by_its_path_and_cross_checks_see_what_read_fine():
    document = {"rows": [{"id": "a", "low": "a", "high": "b"}, {"id": "a"}, {"id": "bad id", "low": 1, "high": 0}],
                "places": [{"name": ""}], "unknown": True}
    assert errors_of(document, Table) == [
        ("rows[1].id", "appears twice in rows"),
        ("rows[2].id", "must be 1-128 letters, digits or . _ : - (starting with a letter or digit)"),
        ("rows[2].low", "must be a string"), ("rows[2].high", "must be a string"), ("places[0].name", "must not be empty"),
    ]
    assert errors_of({"rows": [{"id": "a", "low": "b", "high": "a"}]}, Table) == [("rows[0].high", "must not be before low")]
    assert errors_of({"rows": []}, Table) == [("rows", "must name at least one row")]
    assert errors_of({"rows": [{"id": "a"}] * 4}, Table) == [("rows", "must have at most 3 items")]
    assert errors_of([], Table) == [("(body)", "must be an object")]
    assert validate({"rows": [{"id": "a", "low": "  "}]}, Table) == Table((Row("a"),))


def test_one_value_and_the_schema_come_from_the_same_declaration():
    assert validate_value(" S-1 ", Identifier, "id") == "S-1"
    with pytest.raises(Invalid) as caught:
        validate_value("", Identifier, "id")
    assert caught.value.errors[0].field == "id"
    _, components = msgspec.json.schema_components([Client], ref_template="#/components/schemas/{name}")
    client = components["Client"]
    assert client["required"] == ["id", "first_name", "last_name", "language"]
    assert client["properties"]["id"]["maxLength"] == 128 and client["properties"]["language"]["enum"] == ["fi", "sv"]


def test_counts_are_whole_numbers_within_bounds():
    class Session(Struct, frozen=True):
        capacity: Count(1, 500) | None = None  # type: ignore[valid-type]

    assert validate({"capacity": 20}, Session).capacity == 20 and validate({}, Session).capacity is None
    for bad, detail in ((0, "must be at least 1"), (501, "must be at most 500"), (True, "must be a whole number"),
                        ("20", "must be a whole number"), (2.5, "must be a whole number")):
        assert errors_of({"capacity": bad}, Session) == [("capacity", detail)]
    assert msgspec.json.schema(Session)["$defs"]["Session"]["properties"]["capacity"]["anyOf"][0] == {
        "type": "integer", "minimum": 1, "maximum": 500}
