"""A patient's side-effect reports as FHIR R4 Observations, for their Bundle (services/clinic/fhir_export.py).

One Observation per item of each report (CLINICAL.md §7), part of the infusion's MedicationAdministration in the
same Bundle, and never a total. LOINC has no codes for this clinic checklist, and none is invented: the items and
the levels are text codes in code systems of our own, named by local URLs below.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from tracker import side_effects as rules
from tracker.extensions import db
from tracker.models import Patient, SideEffectReport
from tracker.services.clinic.fhir_instant import instant

# Local code systems: the checklist's items (their keys) and its levels (their words). Not LOINC, not SNOMED CT.
ITEM_SYSTEM = "https://tracker.invalid/fhir/CodeSystem/side-effect-item"
LEVEL_SYSTEM = "https://tracker.invalid/fhir/CodeSystem/side-effect-level"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
TIMING_WORDS = {
    "discharge": "Reported by clinic staff at discharge",
    "next_morning": "Reported by the patient the next morning",
}
# Ids derived from the report and the item: a second export names them the same.
_NAMESPACE = uuid.UUID("a4f2d5c8-0b7e-4c61-8f3a-2e9d1b6c7a05")


def _observation(report: SideEffectReport, patient: Patient, item: rules.Item) -> dict[str, Any]:
    level = rules.LEVELS[getattr(report, item.key)]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(uuid.uuid5(_NAMESPACE, f"{report.id}/{item.key}")),
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": "survey", "display": "Survey"}]}],
        "code": {"coding": [{"system": ITEM_SYSTEM, "code": item.key, "display": item.words}], "text": item.words},
        "subject": {"reference": f"urn:uuid:{patient.id}"},
        "partOf": [{"reference": f"urn:uuid:{report.infusion_id}"}],  # the infusion's MedicationAdministration
        "effectiveDateTime": instant(report.reported_at, patient.timezone),
        "valueCodeableConcept": {"coding": [{"system": LEVEL_SYSTEM, "code": level, "display": level}], "text": level},
        "note": [{"text": f"{TIMING_WORDS[report.timing]} ({report.source})."}],
    }
    if report.timing == "next_morning":
        resource["performer"] = [{"reference": f"urn:uuid:{patient.id}"}]
    return resource


def observations(patient: Patient) -> list[dict[str, Any]]:
    """Every report of the patient, oldest first, seven Observations each."""
    reports = db.session.scalars(
        sa.select(SideEffectReport)
        .where(SideEffectReport.patient_id == patient.id)
        .order_by(SideEffectReport.reported_at, SideEffectReport.timing, SideEffectReport.id)
    )
    return [_observation(report, patient, item) for report in reports for item in rules.ITEMS]
