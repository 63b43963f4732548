"""`watched`: every event type's decision is watched before it is made (decided once), on the key
its handler's outcome names (`EVENTS` holds both, one line per event type)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest

from notifier.casework.events import parse_event
from notifier.casework.handlers import EVENTS, HANDLERS, watched
from notifier.coaching.keys import client_key
from notifier.kickoff.keys import session_key
from tests.support.kickoff import HELSINKI, session_start, started
from tests.casework.test_readme_examples import EVENT_TYPES, examples


def test_every_event_type_has_a_handler():
    assert set(HANDLERS) == set(EVENTS) == EVENT_TYPES


#: The README's example of each event type (their client and session are the same throughout).
SAMPLES = {e["type"]: e for e in examples() if e.get("type") in EVENT_TYPES}
#: Sent first, so that the events on an existing client or session find it.
FIRST = ("client.referred", "kickoff.scheduled")


def sample(event_type: str) -> dict:
    """The README's example, its times moved to now: the handlers refuse events from the future,
    and the session is ahead (`started` moves the service's clock past its start)."""
    event = copy.deepcopy(SAMPLES[event_type])
    data, now = event["data"], datetime.now(HELSINKI)
    if "at" in data:
        data["at"] = (now - timedelta(minutes=1)).isoformat()
    if "referred_at" in data:
        data["referred_at"] = (now - timedelta(hours=1)).isoformat()
    if "session" in data:
        data["session"]["starts_at"] = session_start().isoformat()
        data["session"]["ends_at"] = (session_start() + timedelta(hours=2)).isoformat()
    if "next_session" in data:
        data["next_session"]["starts_at"] = session_start(days_ahead=21).isoformat()
    return event


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


@pytest.mark.parametrize("event_type", sorted(HANDLERS))
async def test_the_watched_key_is_the_one_the_handlers_outcome_names(start_service, event_type):
    svc = await start_service(worker=False)
    for first in FIRST:
        assert (await svc.case.send(first, sample(first)["data"]))[0] == 202
    if event_type == "kickoff.attendance":
        started(svc)  # attendance is taken once the session has started
    event = parse_event(sample(event_type))
    outcome = await HANDLERS[event_type](event, svc.runtime, None)  # decided only: nothing is stored
    assert watched(event) == outcome.watch and len(outcome.watch) == 1
