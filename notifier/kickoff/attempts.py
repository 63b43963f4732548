"""What a recorded call leads to: a second attempt, or the client being unreachable.

Pure: the caller passes what is stored about the prompt and the clock reading.

- `no-answer` on a prompt that has no follow-up yet, before the last attempt: another prompt,
  due on the next working day (`NOTIFIER_CALL_RETRY_WORKING_DAYS`);
- `no-answer` on the last attempt (`NOTIFIER_CALL_ATTEMPTS`, default 3), or `wrong-number` on any
  attempt: the client is unreachable (once per client and session): the case system gets a
  `client.unreachable` callback and the client is on the authority's daily e-mail;
- `reached` and `rescheduled` end the chain; recording a call on an older attempt changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from notifier.kickoff.workdays import follow_up_due

NO_ANSWER = "no-answer"
WRONG_NUMBER = "wrong-number"


@dataclass(frozen=True)
class AfterCall:
    follow_up_due: datetime | None = None
    unreachable: str | None = None  # why: no-answer (attempts used up) or wrong-number


def after_call(outcome: str, *, attempt: int, max_attempts: int, has_follow_up: bool, already_unreachable: bool,
               now: datetime, tz: ZoneInfo, retry_days: int = 1) -> AfterCall:
    if has_follow_up:
        return AfterCall()  # an older attempt: the chain has moved on
    if outcome == WRONG_NUMBER:
        return AfterCall(unreachable=None if already_unreachable else WRONG_NUMBER)
    if outcome != NO_ANSWER:
        return AfterCall()
    if attempt < max_attempts:
        return AfterCall(follow_up_due=follow_up_due(now, tz, retry_days))
    return AfterCall(unreachable=None if already_unreachable else NO_ANSWER)
