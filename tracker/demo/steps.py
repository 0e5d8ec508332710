"""What people do in the demo's story, one step at a time: the words tracker/demo/story.py writes and
tracker/demo/player.py acts out through the services. Pure data.

Each step is one person's (a patient's, or the clinician's about that patient) at one moment. What the
system does in answer (scores, alerts, booster requests, reminders, texts) is never a step: the services
and the jobs decide it when the step is played.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class Vitals:
    """What the clinician records when an infusion is given (CLINICAL.md §1, §7)."""

    weight_kg: Decimal
    bp_before: tuple[int, int]
    bp_after: tuple[int, int]  # before discharge
    observed_min: int = 120
    ride_home_confirmed: bool = True
    bp_during: tuple[int, int] | None = None  # about 40 minutes in
    heart_rate: tuple[int, int, int] | None = None  # before, during, before discharge
    spo2: tuple[int, int, int] | None = None
    hold_confirmed: bool = False  # CLINICAL.md §7: a reading at the hold level, and the clinician gave it
    notes: str | None = None


@dataclass(frozen=True)
class Step:
    at: datetime
    person: int  # the patient, by their index in Story.people


@dataclass(frozen=True)
class Enrol(Step):
    """The clinician enrols the patient, in screening; the invitation text goes out."""


@dataclass(frozen=True)
class AcceptInvitation(Step):
    """The patient opens the invitation's link and sets the demo password."""


@dataclass(frozen=True)
class ChooseReminders(Step):
    """The patient, in the app, picks the day and time of their weekly reminder."""

    weekday: int
    local_time: time


@dataclass(frozen=True)
class CheckIn(Step):
    """A PHQ-9 (or a GAD-7): in the app, from a reminder's one-time link ("web"), or entered at the clinic."""

    answers: tuple[int, ...]
    difficulty: int | None
    source: str
    instrument: str = "phq9"


@dataclass(frozen=True)
class MovePhase(Step):
    """The clinician moves the patient to another phase of the course."""

    to_phase: str
    reason: str


@dataclass(frozen=True)
class Infuse(Step):
    """The clinician gives an infusion nobody booked ahead and records it."""

    kind: str
    vitals: Vitals


@dataclass(frozen=True)
class Book(Step):
    """The clinician books an infusion for a later visit; the ride home is confirmed when it was arranged then."""

    kind: str
    visit: datetime
    ride_home_confirmed: bool | None = None


@dataclass(frozen=True)
class CorrectInfusion(Step):
    """The clinician corrects what was recorded of the patient's latest given infusion, saying why."""

    changes: tuple[tuple[str, int], ...]
    reason: str


@dataclass(frozen=True)
class GiveBooked(Step):
    """The infusion booked for this moment is given and recorded."""

    vitals: Vitals


@dataclass(frozen=True)
class AcknowledgeSafety(Step):
    """The clinician has called the patient about their item 9 answer (CLINICAL.md §3), with the C-SSRS
    screener's answers (CLINICAL.md §7, tracker/cssrs.py keys)."""

    note: str
    risk_level: str
    screener: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True)
class AskForBooster(Step):
    """The patient asks, in the app, for a booster."""

    reason: str


@dataclass(frozen=True)
class Decide(Step):
    """The clinician decides the patient's open booster request: approve, schedule (for `visit`) or decline.

    The first decision also acknowledges the attention alert the request opened, with `text` as its note.
    """

    action: str
    text: str
    visit: datetime | None = None


@dataclass(frozen=True)
class Outage:
    """A phone the network cannot reach for a while: texts sent to it meanwhile fail."""

    phone: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Carrier:
    """What the phone network reports about a text it was handed, and when (Twilio's status callback)."""

    no_receipts: frozenset[str]  # networks that never report delivery: their texts stay "sent"
    outages: tuple[Outage, ...]
    report_after: timedelta = timedelta(seconds=15)

    def reaches(self, phone: str, at: datetime) -> bool:
        """Whether a text sent to the phone at `at` arrives."""
        return not any(o.phone == phone and o.start <= at < o.end for o in self.outages)

    def report(self, phone: str, sent_at: datetime) -> tuple[str, int | None] | None:
        """The final status and error code the network reports, or None when it reports nothing."""
        if phone in self.no_receipts:
            return None
        if not self.reaches(phone, sent_at):
            return ("failed", 30003)  # Twilio: unreachable destination handset
        return ("delivered", None)
