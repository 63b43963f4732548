"""Plain data of the coaching rhythm: the configurable rules, a client's coaching state, deadlines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from notifier.casework.events import Client, Coach, Party

FIRST_CONTACT = "first-contact"
MONTHLY_CONTACT = "monthly-contact"
PLAN_RENEWAL = "plan-renewal"
KINDS = (FIRST_CONTACT, MONTHLY_CONTACT, PLAN_RENEWAL)


@dataclass(frozen=True)
class Rules:
    """The pilot's promises as numbers (NOTIFIER_COACHING_* settings; README "Coaching rhythm").

    Days count from the event that starts the clock (referral, last contact, last plan); the
    reminder goes on that day at `remind_hour` local time, moved back to a working day.
    """

    first_contact_days: int = 14        # first contact due this many days after the referral
    first_contact_remind_day: int = 10  # the coach is reminded on this day when none is recorded
    first_contact_escalate_day: int = 15  # and the coordinators' work queue shows it from this day
    contact_days: int = 30              # a contact due this many days after the last one
    contact_remind_day: int = 25
    plan_months: int = 3                # the job-search plan renewed this many months after the last
    plan_remind_days_before: int = 10
    remind_hour: int = 8                # local time of day reminders go out
    feedback_url: str | None = None     # invited to in the end-of-service letter when the event has none


@dataclass(frozen=True)
class CoachingState:
    """One referred client's coaching: what was recorded, and the reminders planned (deadline key
    -> message id, so that each deadline is reminded of once)."""

    client: Client
    referred_at: datetime
    coach: Coach | None = None
    office: Party | None = None
    provider: Party | None = None
    last_contact_at: datetime | None = None
    last_plan_at: datetime | None = None
    contacts: int = 0
    ended_at: datetime | None = None
    end_reason: str | None = None
    reminders: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class Deadline:
    """A promise still to keep: `due` is the moment it falls due; `remind_on` the local day the
    coach is reminded (already moved to a working day)."""

    kind: str
    due: datetime
    remind_on: date

    @property
    def key(self) -> str:
        """Names the deadline: one reminder per key, ever."""
        return f"{self.kind}:{self.due.astimezone(timezone.utc):%Y-%m-%dT%H:%MZ}"
