"""A patient's other medicines (CLINICAL.md §7) as FHIR R4 MedicationStatements, for the patient's Bundle.

Each is named by its text as staff typed it (no RxNorm coding is kept), with its period and its dose as text.
Status: active while taken, completed once its until has passed, intended when it starts later.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from fhir.resources.R4B.medicationstatement import MedicationStatement

from tracker.extensions import db
from tracker.models import Patient, PatientMedicine
from tracker.services.clinic.medicines import today_at


def _status(medicine: PatientMedicine, today: date) -> str:
    if medicine.is_current(today):
        return "active"
    if medicine.since is not None and medicine.since > today:
        return "intended"
    return "completed"


def medication_statement(medicine: PatientMedicine, patient_ref: str, today: date) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": str(medicine.id),
        "status": _status(medicine, today),
        "medicationCodeableConcept": {"text": medicine.name},
        "subject": {"reference": patient_ref},
    }
    period = {key: value.isoformat() for key, value in (("start", medicine.since), ("end", medicine.until)) if value}
    if period:
        resource["effectivePeriod"] = period
    if medicine.dose:
        resource["dosage"] = [{"text": medicine.dose}]
    MedicationStatement.model_validate(resource)  # a ValidationError here is our bug
    return resource


def medication_statements(patient: Patient, patient_ref: str) -> list[dict[str, Any]]:
    """Every medicine on the patient's list, oldest entry first."""
    today = today_at(patient.clinic)
    rows = db.session.scalars(
        sa.select(PatientMedicine)
        .where(PatientMedicine.patient_id == patient.id)
        .order_by(PatientMedicine.added_at, PatientMedicine.id)
    )
    return [medication_statement(medicine, patient_ref, today) for medicine in rows]
