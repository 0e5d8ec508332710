"""What a patient is due to answer now, by their clinic's instrument schedule (CLINICAL.md §7, fourth bullet).

The rule is tracker/instruments/schedule.py; this reads what it needs (the clinic's schedule, each
instrument's latest check-in) for one patient or for a batch at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from tracker import clock, local_time
from tracker.instruments import schedule as instrument_schedule
from tracker.models import Patient
from tracker.services.checkins import queries as checkin_queries


def last_taken(
    patient_ids: Collection[uuid.UUID], instruments: Collection[str]
) -> dict[uuid.UUID, dict[str, datetime]]:
    """Each patient's latest check-in time per instrument: one query per instrument, whatever the batch's size."""
    found: dict[uuid.UUID, dict[str, datetime]] = {patient_id: {} for patient_id in patient_ids}
    for name in instruments:
        for patient_id, taken_at in checkin_queries.latest_taken_at(patient_ids, name).items():
            found[patient_id][name] = taken_at
    return found


def due_for(patient: Patient, now: datetime | None = None) -> list[str]:
    """The instruments the patient is due to answer now, PHQ-9 first; [] outside the phases with check-ins."""
    now = now or clock.now()
    schedule = instrument_schedule.effective(patient.clinic.instrument_schedule)
    asked = instrument_schedule.asked_in(schedule, patient.phase)
    if not asked:
        return []
    taken = last_taken([patient.id], asked)[patient.id]
    zone = local_time.zone_of(patient.timezone, patient.clinic.timezone)
    return instrument_schedule.due_now(schedule, patient.phase, taken, now, zone)


def asks_after(patient: Patient, answered: str, now: datetime | None = None) -> str | None:
    """The next instrument to ask after one just answered, in the order of the schedule; None when done."""
    names = instrument_schedule.INSTRUMENT_NAMES
    following = names[names.index(answered) + 1 :] if answered in names else ()
    due = due_for(patient, now)
    return next((name for name in following if name in due), None)
