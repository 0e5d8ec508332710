"""A patient's infusions as FHIR R4 MedicationAdministration resources, for the patient's Bundle (fhir_export).

MedicationAdministration, not Procedure: it carries what a clinician reads of a dose (the drug, the amount,
the route, when) in its own elements. Only infusions given are written: the resource records an administration
that happened; a booked visit is not one yet, and a cancelled booking never became one (FHIR's "not-done" is for
a dose started or due and not given, which a visit moved or called off is not).
The dose follows CLINICAL.md §1: ketamine IV, in mg/kg over minutes, with the total in mg when it was recorded.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tracker.extensions import db
from tracker.models import Infusion, Patient
from tracker.services.clinic.fhir_instant import instant as _instant

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
KETAMINE = {"system": RXNORM, "code": "6130", "display": "ketamine"}  # RxNorm's ingredient concept
INTRAVENOUS = {"system": SNOMED, "code": "47625008", "display": "Intravenous route"}


def _number(value: Decimal) -> float | int:
    # FHIR's decimal is a JSON number; 35.0 mg reads as 35.
    return int(value) if value == value.to_integral_value() else float(value)


def dosage_text(infusion: Infusion) -> str:
    """The dose as a clinician writes it: `0.5 mg/kg IV over 40 min (35 mg)`."""
    parts = []
    if infusion.dose_mg_per_kg is not None:
        parts.append(f"{_number(infusion.dose_mg_per_kg)} mg/kg")
    parts.append("IV")
    if infusion.duration_min is not None:
        parts.append(f"over {infusion.duration_min} min")
    if infusion.total_mg is not None:
        parts.append(f"({_number(infusion.total_mg)} mg)")
    return " ".join(parts)


def medication_administration(infusion: Infusion, patient: Patient) -> dict[str, Any]:
    """One given infusion; `subject` refers to the Patient entry of the same Bundle by its urn."""
    assert infusion.given_at is not None  # only given infusions are written (check constraint: given has a time)
    dosage: dict[str, Any] = {"text": dosage_text(infusion), "route": {"coding": [INTRAVENOUS], "text": "IV"}}
    if infusion.total_mg is not None:
        dosage["dose"] = {"value": _number(infusion.total_mg), "unit": "mg", "system": UCUM, "code": "mg"}
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": str(infusion.id),
        "status": "completed",
        "category": {"text": f"{infusion.kind} infusion"},
        "medicationCodeableConcept": {"coding": [KETAMINE], "text": "Ketamine"},
        "subject": {"reference": f"urn:uuid:{patient.id}"},
        "dosage": dosage,
    }
    if infusion.duration_min is not None:
        end = infusion.given_at + timedelta(minutes=infusion.duration_min)
        resource["effectivePeriod"] = {
            "start": _instant(infusion.given_at, patient.timezone),
            "end": _instant(end, patient.timezone),
        }
    else:
        resource["effectiveDateTime"] = _instant(infusion.given_at, patient.timezone)
    return resource


def administrations(patient: Patient) -> list[dict[str, Any]]:
    """The patient's given infusions, oldest first, as MedicationAdministration resources."""
    given = db.session.scalars(
        sa.select(Infusion)
        .where(Infusion.patient_id == patient.id, Infusion.status == "given")
        .order_by(Infusion.given_at, Infusion.id)
    )
    return [medication_administration(infusion, patient) for infusion in given]
