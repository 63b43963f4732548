"""`watched`: every event type's decision is watched before it is made (decided once), on the key
its handler's outcome names."""

from __future__ import annotations

import pytest

from notifier.casework.events import parse_event
from notifier.casework.handlers import HANDLERS, watched
from notifier.coaching.keys import client_key
from notifier.kickoff.keys import session_key
from tests.casework.test_readme_examples import EVENT_TYPES, examples


def test_every_event_type_has_a_handler():
    assert set(HANDLERS) == EVENT_TYPES


@pytest.mark.parametrize("example", [e for e in examples() if e.get("type") in EVENT_TYPES], ids=lambda e: e["type"])
def test_each_event_watches_the_state_key_it_is_decided_on(example):
    event = parse_event(example)
    data = example["data"]
    if example["type"] == "client.referred":
        expected = client_key(data["client"]["id"])
    elif example["type"] == "kickoff.scheduled":
        expected = session_key(data["session"]["id"])
    elif example["type"].startswith("kickoff."):
        expected = session_key(data["session_id"])
    else:
        expected = client_key(data["client_id"])
    assert watched(event) == [expected]
