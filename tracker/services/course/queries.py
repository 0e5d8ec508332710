"""Reading a course: a patient's infusions, the patient's own view of them, and the outcome (CLINICAL.md §4)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tracker import clock
from tracker.extensions import db
from tracker.models import Alert, Infusion, Patient, User
from tracker.outcomes import Outcome, course_starts, outcome
from tracker.relapse import CheckInPoint, InfusionPoint
from tracker.services import scope
from tracker.services.audit import trail as audit
from tracker.services.boosters.queries import RequestWithInfusion, open_request_for, with_infusion
from tracker.services.course import relapse_inputs
from tracker.vitals import BP_FIELDS, BloodPressure


@dataclass(frozen=True)
class PatientInfusion:
    """An infusion as its patient sees it: everything but the clinical notes."""

    id: uuid.UUID
    kind: str
    status: str
    scheduled_for: datetime | None
    given_at: datetime | None
    dose_mg_per_kg: Decimal | None
    weight_kg: Decimal | None
    total_mg: Decimal | None
    duration_min: int | None
    bp_before: BloodPressure | None
    bp_during: BloodPressure | None
    bp_after: BloodPressure | None
    observed_min: int | None
    ride_home_confirmed: bool | None
    booster_request_id: uuid.UUID | None


def patient_outcome(patient: Patient) -> Outcome:
    """CLINICAL.md §4: baseline, change, response, remission and the §5 reference low, from the PHQ-9s."""
    return outcomes_of([patient.id])[patient.id]


def outcomes_of(
    patient_ids: Collection[uuid.UUID], points: Mapping[uuid.UUID, Sequence[CheckInPoint]] | None = None
) -> dict[uuid.UUID, Outcome]:
    """`patient_outcome` for many patients in two queries (one when their PHQ-9 `points` are given)."""
    if points is None:
        points = relapse_inputs.phq9_points(patient_ids)
    given: dict[uuid.UUID, list[Any]] = defaultdict(list)
    if patient_ids:
        rows = db.session.execute(
            sa.select(Infusion.patient_id, Infusion.id, Infusion.given_at, Infusion.kind).where(
                Infusion.patient_id.in_(patient_ids), Infusion.status == "given", Infusion.given_at.is_not(None)
            )
        )
        for row in rows:
            given[row.patient_id].append(row)
    found = {}
    for patient_id in patient_ids:
        infusions = [InfusionPoint(str(row.id), row.given_at) for row in given[patient_id]]
        # CLINICAL.md §4: a second induction series after a gap is a new course, its baseline the last PHQ-9 before
        # it.
        starts = course_starts(
            [row.given_at for row in given[patient_id] if row.kind == "induction"],
            [row.given_at for row in given[patient_id] if row.kind != "induction"],
        )
        current_course = starts[-1] if starts else None
        found[patient_id] = outcome(points.get(patient_id, []), infusions, current_course)
    return found


@dataclass(frozen=True)
class PatientDetail:
    """A patient's record as staff read it through the API: the patient, the outcome and what is open."""

    patient: Patient
    outcome: Outcome
    open_booster_request: RequestWithInfusion | None
    open_alerts: int


def patient_detail(patient: Patient) -> PatientDetail:
    request = open_request_for(patient.id)
    open_alerts = db.session.scalar(
        sa.select(sa.func.count()).select_from(Alert).where(Alert.patient_id == patient.id, Alert.status == "open")
    )
    return PatientDetail(
        patient,
        patient_outcome(patient),
        with_infusion(request) if request is not None else None,
        open_alerts or 0,
    )


def read_for_staff(staff: User, patient_id: str | uuid.UUID) -> PatientDetail:
    """The patient's record for a staff member of their clinic (NotFound otherwise); audited as patient.read."""
    patient = scope.get_patient_for_staff(staff, patient_id)
    audit.record(staff, "patient.read", patient=patient, target_type="patient", target_id=patient.id)
    return patient_detail(patient)


def infusions_for_staff(staff: User, patient_id: str | uuid.UUID) -> sa.Select[tuple[Infusion]]:
    """The patient's infusions for a staff member of their clinic (NotFound otherwise), as a query for the caller
    to page; the read is written to the audit log (infusions.read)."""
    patient = scope.get_patient_for_staff(staff, patient_id)
    audit.record(staff, "infusions.read", patient=patient, target_type="patient", target_id=patient.id)
    return sa.select(Infusion).where(Infusion.patient_id == patient.id)


def infusions_of(patient: Patient) -> list[Infusion]:
    """A patient's infusions, the latest (given or booked) first."""
    when = sa.func.coalesce(Infusion.given_at, Infusion.scheduled_for)
    query = sa.select(Infusion).where(Infusion.patient_id == patient.id)
    return list(db.session.scalars(query.order_by(when.desc(), Infusion.created_at.desc(), Infusion.id)))


def infusions_for_patient_view(patient: Patient) -> list[PatientInfusion]:
    """The patient's own infusions, past and booked, without the clinical notes (API.md GET /infusions)."""
    plain = [f.name for f in fields(PatientInfusion) if f.name not in BP_FIELDS]
    found = []
    for row in infusions_of(patient):
        readings = row.readings
        found.append(
            PatientInfusion(
                **{name: getattr(row, name) for name in plain},
                bp_before=readings["bp_before"],
                bp_during=readings["bp_during"],
                bp_after=readings["bp_after"],
            )
        )
    return found


def next_visit_for_patient(patient: Patient) -> PatientInfusion | None:
    """The patient's next booked infusion, as they see it (API.md GET /me `next_visit`), or None."""
    now = clock.now()
    booked = [
        i
        for i in infusions_for_patient_view(patient)
        if i.status == "scheduled" and i.scheduled_for is not None and i.scheduled_for >= now
    ]
    return min(booked, key=lambda i: i.scheduled_for or now, default=None)


def infusion_for_staff(staff: User, infusion_id: str | uuid.UUID) -> tuple[Infusion, Patient]:
    """One infusion and its patient for a staff member of their clinic (NotFound otherwise); audited."""
    row, patient = scope.get_infusion_for_staff(staff, infusion_id)
    audit.record(staff, "infusion.read", patient=patient, target_type="infusion", target_id=row.id)
    return row, patient


def latest_weight(patient: Patient) -> Decimal | None:
    """The weight recorded at the patient's latest given infusion: the visit form's suggestion for today."""
    return db.session.scalar(
        sa.select(Infusion.weight_kg)
        .where(Infusion.patient_id == patient.id, Infusion.status == "given", Infusion.weight_kg.is_not(None))
        .order_by(Infusion.given_at.desc())
        .limit(1)
    )
