"""The audit log as an admin reads it: each event in words, and repeated views merged into one line. Pure.

The stored log keeps every event (services/audit/trail.py); only the page merges: one person viewing one patient's
record again and again within ten minutes is one line ("Dr Lee viewed Hayden P.'s record 3 times").
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

T = TypeVar("T")
MERGE_WINDOW = timedelta(minutes=10)
# Reads that repeat as a clinician works: merged when one person repeats one on one record.
MERGED_ACTIONS = frozenset(
    {"patient.read", "checkins.read", "infusions.read", "infusion.read", "side_effects.read", "medicine.list"}
)

# What an event's action says, after the person's name: "{patient}" is the patient's name with "'s".
VERBS = {
    "patient.read": "viewed {patient} record",
    "checkins.read": "read {patient} check-ins",
    "infusions.read": "read {patient} infusions",
    "infusion.read": "read an infusion of {patient} record",
    "patient.enrol": "enrolled {patient_name}",
    "patient.update": "changed {patient} details",
    "patient.phase_change": "changed {patient} phase",
    "patient.high_risk_clear": "cleared the high-risk flag on {patient} record",
    "checkin.create": "entered a check-in on {patient} record",
    "infusion.record": "recorded an infusion on {patient} record",
    "infusion.update": "changed an infusion on {patient} record",
    "side_effects.create": "recorded side effects on {patient} record",
    "side_effects.read": "read side effects on {patient} record",
    "alert.acknowledge": "acknowledged an alert on {patient} record",
    "alert.resolve": "resolved an alert on {patient} record",
    "alert.escalate": "escalated an alert on {patient} record",
    "alert.list": "listed the clinic's alerts",
    "attention.list": "opened the queue",
    "patients.list": "listed the patients",
    "calendar.read": "opened the calendar",
    "booster.raise": "raised a booster request on {patient} record",
    "booster.approve": "approved a booster request on {patient} record",
    "booster.schedule": "booked a booster on {patient} record",
    "booster.decline": "declined a booster request on {patient} record",
    "booster.cancel": "cancelled a booster request on {patient} record",
    "booster.complete": "completed a booster request on {patient} record",
    "booster.evidence": "added evidence to a booster request on {patient} record",
    "booster.list": "listed booster requests",
    "medicine.list": "read {patient} medicines",
    "medicine.add": "added a medicine to {patient} record",
    "medicine.update": "changed a medicine on {patient} record",
    "medicine.remove": "removed a medicine from {patient} record",
    "clinic.review_medicines": "changed the clinic's medicines to review",
    "export.checkins_csv": "exported check-ins",
    "export.infusions_csv": "exported infusions",
    "export.side_effects_csv": "exported side effects",
    "export.fhir_bundle": "exported {patient} FHIR record",
    "export.outcomes_report": "read the outcomes report",
    "audit.read": "read the audit log",
    "settings.change": "changed the clinic's settings",
    "staff.invite": "invited a staff member",
    "staff.reinvite": "made a new invitation link",
    "staff.rename": "renamed a staff member",
    "staff.deactivate": "deactivated a staff member",
    "staff.reactivate": "reactivated a staff member",
    "staff.password_reset_link": "made a password reset link",
    "account.password_change": "changed their password",
    "account.password_reset": "reset their password",
}


@dataclass(frozen=True)
class Line(Generic[T]):
    """One line of the log: its newest event and every event merged into it, newest first."""

    events: tuple[T, ...]

    @property
    def newest(self) -> T:
        return self.events[0]

    @property
    def oldest(self) -> T:
        return self.events[-1]

    @property
    def count(self) -> int:
        return len(self.events)


def merge(
    events: Sequence[T],
    key: Callable[[T], Hashable | None],
    at: Callable[[T], datetime],
    window: timedelta = MERGE_WINDOW,
) -> list[Line[T]]:
    """Events newest first into lines: those with one (non-None) key within `window` of their line's newest event
    join it, wherever they fall between others; a line stands where its newest event stood."""
    lines: list[list[T]] = []
    open_lines: dict[Hashable, list[T]] = {}
    for event in events:
        name = key(event)
        line = open_lines.get(name) if name is not None else None
        if line is not None and at(line[0]) - at(event) <= window:
            line.append(event)
            continue
        line = [event]
        lines.append(line)
        if name is not None:
            open_lines[name] = line
    return [Line(tuple(line)) for line in lines]


def possessive(name: str) -> str:
    """'Hayden P.' -> "Hayden P.'s"; 'James' -> "James's" (the style guides' rule for a name)."""
    return f"{name}'s"


def sentence(actor: str, action: str, patient: str | None, count: int = 1) -> str:
    """ "Dr Lee viewed Hayden P.'s record", with "3 times" when a line merged several."""
    verb = VERBS.get(action) or f"did {action.replace('.', ': ').replace('_', ' ')}"
    if patient:
        words = verb.format(patient=possessive(patient), patient_name=patient)
    else:
        words = verb.format(patient="a patient's", patient_name="a patient")
    text = f"{actor} {words}"
    return text + (f" {count} times" if count > 1 else "")
