"""A patient's vital signs at each infusion given as FHIR R4 Observations, for the patient's Bundle (fhir_export).

CLINICAL.md §7: blood pressure before the dose, about 40 minutes in and before discharge; heart rate and SpO2
where recorded. Each reading is an Observation of category vital-signs coded as the FHIR R4 vital signs profile
asks (hl7.org/fhir/R4/observation-vitalsigns.html and its value set observation-vitalsignresult):
- blood pressure: the panel LOINC 85354-9 with the components 8480-6 (systolic) and 8462-4 (diastolic), mm[Hg];
- heart rate: LOINC 8867-4, /min;
- SpO2: LOINC 59408-5 (oxygen saturation by pulse oximetry), with 2708-6 beside it, which the R4 oxygensat
  profile fixes (hl7.org/fhir/R4/oxygensat.html), in %.
Units are UCUM codes. A reading's own minute is not recorded: the one before the dose is dated at the dose's
start, the two later ones by the visit's period (dose and observation), with a note naming the moment.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from tracker.extensions import db
from tracker.models import Infusion, Patient
from tracker.services.clinic.fhir_instant import instant as _instant
from tracker.vitals import MOMENT_WORDS, MOMENTS, BloodPressure, bp_field, checks, heart_rate_field, spo2_field

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ]
}
BP_PANEL = {"system": LOINC, "code": "85354-9", "display": "Blood pressure panel with all children optional"}
SYSTOLIC = {"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}
DIASTOLIC = {"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}
HEART_RATE = {"system": LOINC, "code": "8867-4", "display": "Heart rate"}
SPO2 = [
    {"system": LOINC, "code": "59408-5", "display": "Oxygen saturation in Arterial blood by Pulse oximetry"},
    {"system": LOINC, "code": "2708-6", "display": "Oxygen saturation in Arterial blood"},
]
MMHG = {"unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}
PER_MINUTE = {"unit": "beats/minute", "system": UCUM, "code": "/min"}
PERCENT = {"unit": "%", "system": UCUM, "code": "%"}
# Ids derived from the infusion and the reading, so a second export names them the same.
_NAMESPACE = uuid.UUID("0e4f3c1b-7a2d-4b9e-8f61-5c3d2a1b0f97")


def _when(infusion: Infusion, moment: str, timezone: str) -> dict[str, Any]:
    """The reading before the dose at its start; a later one within the visit (its minute was not recorded)."""
    assert infusion.given_at is not None  # only given infusions are written
    if moment == "before":
        return {"effectiveDateTime": _instant(infusion.given_at, timezone)}
    visit = timedelta(minutes=(infusion.duration_min or 0) + (infusion.observed_min or 0))
    end = infusion.given_at + max(visit, timedelta(minutes=1))
    return {
        "effectivePeriod": {"start": _instant(infusion.given_at, timezone), "end": _instant(end, timezone)},
        "note": [{"text": f"Taken {MOMENT_WORDS[moment]}."}],
    }


def _observation(
    infusion: Infusion, patient: Patient, moment: str, part: str, codes: list[dict[str, str]], **value: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": str(uuid.uuid5(_NAMESPACE, f"{infusion.id}/{part}/{moment}")),
        "status": "final",
        "category": [CATEGORY],
        "code": {"coding": codes, "text": codes[0]["display"]},
        "subject": {"reference": f"urn:uuid:{patient.id}"},
        **_when(infusion, moment, patient.timezone),
        **value,
    }


def infusion_vitals(infusion: Infusion, patient: Patient, hold_at: BloodPressure) -> list[dict[str, Any]]:
    """The Observations of one given infusion's readings, in moment order."""
    found = []
    readings = infusion.readings
    judged = {c.field: c for c in checks(readings, hold_at)}
    for moment in MOMENTS:
        reading = readings[bp_field(moment)]
        if reading is not None:
            extra: dict[str, Any] = {}
            if (check := judged.get(bp_field(moment))) is not None:
                extra["interpretation"] = [{"text": check.message}]  # CLINICAL.md §7: caution or hold
            components = [
                {"code": {"coding": [SYSTOLIC]}, "valueQuantity": {"value": reading.systolic, **MMHG}},
                {"code": {"coding": [DIASTOLIC]}, "valueQuantity": {"value": reading.diastolic, **MMHG}},
            ]
            found.append(_observation(infusion, patient, moment, "bp", [BP_PANEL], component=components, **extra))
        if (rate := getattr(infusion, heart_rate_field(moment))) is not None:
            found.append(
                _observation(infusion, patient, moment, "hr", [HEART_RATE], valueQuantity={"value": rate, **PER_MINUTE})
            )
        if (saturation := getattr(infusion, spo2_field(moment))) is not None:
            found.append(
                _observation(infusion, patient, moment, "spo2", SPO2, valueQuantity={"value": saturation, **PERCENT})
            )
    return found


def vital_signs(patient: Patient, hold_at: BloodPressure) -> list[dict[str, Any]]:
    """Every reading of the patient's given infusions, oldest infusion first."""
    infusions = db.session.scalars(
        sa.select(Infusion)
        .where(Infusion.patient_id == patient.id, Infusion.status == "given", Infusion.given_at.is_not(None))
        .order_by(Infusion.given_at, Infusion.id)
    )
    return [resource for infusion in infusions for resource in infusion_vitals(infusion, patient, hold_at)]
