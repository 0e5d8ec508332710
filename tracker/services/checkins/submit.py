"""The one check-in service: the API, the web pages, clinic entry and SMS all come through here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tracker import clock, local_time
from tracker.errors import FieldProblem, Invalid
from tracker.extensions import db
from tracker.instruments import PHQ9, UnknownInstrument, get_instrument
from tracker.models import Alert, CheckIn, Patient, User
from tracker.safety import SafetyResponse, safety_response
from tracker.services.alerts.writes import open_safety_alert
from tracker.services.audit import trail as audit
from tracker.services.checkins import limit
from tracker.services.clinic import summary

SOURCES = ("app", "web", "sms", "clinic")


@dataclass(frozen=True)
class CheckInResult:
    checkin: CheckIn
    safety: SafetyResponse | None
    alert: Alert | None


def validate(instrument: object, answers: object, difficulty: object) -> list[FieldProblem]:
    """Every problem with a submission, one per field path (e.g. answers[3])."""
    try:
        if not isinstance(instrument, str):
            raise UnknownInstrument(instrument)
        scorer = get_instrument(instrument)
    except UnknownInstrument:
        return [FieldProblem("instrument", "unknown instrument; use phq9 or gad7")]
    return [FieldProblem(e.field, e.message) for e in scorer.validate(answers, difficulty)]


def submit(
    patient: Patient,
    instrument: str,
    answers: list[int],
    difficulty: int | None,
    source: str,
    *,
    taken_at: datetime | None = None,
    entered_by: User | None = None,
    checkin_id: uuid.UUID | None = None,
) -> CheckInResult:
    """Validate, score and store a check-in; a positive item 9 opens a safety alert in the same transaction.

    Nothing is stored when anything is invalid (Invalid is raised before the first write). A check-in entered
    by staff (`entered_by`) is written to the audit log (checkin.create).
    """
    now = clock.now()
    problems = validate(instrument, answers, difficulty)
    if taken_at is not None and local_time.in_range_utc(taken_at) is None:
        problems.append(FieldProblem("taken_at", local_time.OUT_OF_RANGE))
    elif taken_at is not None and taken_at > now:
        problems.append(FieldProblem("taken_at", "must not be in the future"))
    if problems:
        raise Invalid(problems)
    score = get_instrument(instrument).score(answers)
    # CLINICAL.md §3: a positive item 9 is a safety event, handled at once: it is never refused by the limit.
    if entered_by is None and not score.item9_positive:
        limit.check(patient.id, instrument, source, now)
    checkin = CheckIn(
        id=checkin_id or uuid.uuid4(),
        patient_id=patient.id,
        instrument=instrument,
        answers=list(answers),
        difficulty=difficulty,
        total=score.total,
        severity=score.severity,
        diagnosis=score.diagnosis,
        item9_positive=score.item9_positive,
        taken_at=taken_at or now,
        source=source,
        entered_by_id=entered_by.id if entered_by else None,
        created_at=now,
    )
    db.session.add(checkin)
    patient.changed_at = now  # the relapse scan looks again at this patient
    db.session.flush()
    if instrument == PHQ9.name:
        summary.add_phq9(patient.id, checkin.total, checkin.taken_at)  # the clinic's list shows the latest PHQ-9
    # CLINICAL.md §3: handled at once, whatever the phase, never left to a periodic job.
    alert = open_safety_alert(patient, checkin) if score.item9_positive else None
    if entered_by is not None:
        audit.record(entered_by, "checkin.create", patient=patient, target_type="checkin", target_id=checkin.id)
    safety = safety_response(patient.clinic.crisis_resources) if score.item9_positive else None
    return CheckInResult(checkin, safety, alert)


def safety_for(checkin: CheckIn) -> SafetyResponse | None:
    """The crisis resources a check-in calls for, whenever it is shown again: those of the patient's clinic."""
    if not checkin.item9_positive:
        return None
    patient = db.session.get(Patient, checkin.patient_id)
    assert patient is not None  # a check-in always has its patient (foreign key)
    return safety_response(patient.clinic.crisis_resources)
