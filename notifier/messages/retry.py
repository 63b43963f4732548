"""When to try a temporarily failed message again: exponential backoff with full jitter."""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def next_attempt_at(
    attempts: int,
    created_at: datetime,
    now: datetime,
    *,
    base: float,
    cap: float,
    window: float,
    rand: random.Random | None = None,
) -> datetime | None:
    """The time of the next try after `attempts` tries, or None when the retry window is spent.

    `created_at` is when the window starts: when the message was due. The delay is uniform in
    [d/2, d] with d = min(cap, base * 2**(attempts-1)) ("equal jitter"): it spreads a burst of
    failures (an SMTP outage) so that recovery is not met by a thundering herd, while never
    retrying much sooner than the backoff says.
    """
    rand = rand or random.Random()
    ceiling = min(cap, base * (2 ** max(attempts - 1, 0)))
    delay = rand.uniform(ceiling / 2, ceiling)
    at = now + timedelta(seconds=delay)
    if at > created_at + timedelta(seconds=window):
        return None
    return at
