"""The README's JSON examples are tests: each one is valid under the models that read it (events
in), or under the OpenAPI document's schema of what the service sends (status callbacks out)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator

from notifier.casework.events import EVENT, parse_event
from notifier.messages import callbacks as cb
from notifier.validation import validate
from notifier.web.openapi import document

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"```json\n(.*?)```", re.S)
EVENT_TYPES = {variant.__struct_config__.tag for variant in EVENT.__args__}


def examples() -> list[dict]:
    return [json.loads(block) for block in BLOCK.findall(README.read_text())]


def test_every_event_type_has_a_readme_example_and_each_is_valid():
    events = [e for e in examples() if e.get("type") in EVENT_TYPES]
    for example in events:
        assert validate(example, EVENT).data.type == parse_event(example).type == example["type"]
    assert {e["type"] for e in events} == EVENT_TYPES


def test_the_callback_examples_keep_to_the_openapi_document():
    doc = document()
    schema_of = {hook: item["post"]["requestBody"]["content"]["application/json"]["schema"]
                 for hook, item in doc["webhooks"].items()}
    callbacks = [e for e in examples() if e.get("type") in schema_of]
    assert callbacks and {e["type"] for e in callbacks} <= {cb.MESSAGE_STATUS, cb.CALL_PROMPT_OUTCOME,
                                                            cb.PRACTICE_CHANGE_ACKNOWLEDGED}
    for example in callbacks:
        validator = Draft202012Validator({**schema_of[example["type"]], "components": doc["components"]})
        assert not list(validator.iter_errors(example)), example


def test_every_json_example_is_checked():
    known = EVENT_TYPES | {cb.MESSAGE_STATUS, cb.CALL_PROMPT_OUTCOME, cb.PRACTICE_CHANGE_ACKNOWLEDGED}
    assert all(e.get("type") in known for e in examples()), "a ```json block of the README no test reads"
