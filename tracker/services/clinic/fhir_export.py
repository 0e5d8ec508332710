"""A patient's check-ins (PHQ-9 and GAD-7) as a FHIR R4 Bundle (type `collection`), for staff of their clinic.

The Bundle holds the Patient, a QuestionnaireResponse per check-in, and per check-in the Observations of
the PHQ-9 panel (LOINC 44249-1) or the GAD-7 panel (69737-5): the total score (44261-6, 70274-6) and each item
with its LOINC code and the LOINC answer code of the answer given (CLINICAL.md §2); each infusion given is a
MedicationAdministration (fhir_infusions.py). It is built from plain dicts and validated as a whole by
fhir.resources' R4B models: the installed fhir.resources (8.x) models R5 at its top level and R4B (4.3.0)
and STU3 beside it, with no separate R4 package; R4B is R4 for every element used here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fhir.resources.R4B.bundle import Bundle

from tracker import clock
from tracker.extensions import db
from tracker.instruments import GAD7, INSTRUMENTS, PHQ9, AnswerOption, Instrument, Item
from tracker.models import CheckIn, Clinic, Patient, User
from tracker.services import scope
from tracker.services.audit import trail as audit
from tracker.services.checkins.queries import OLDEST_FIRST
from tracker.services.clinic import fhir_infusions, fhir_vitals
from tracker.services.clinic.fhir_instant import instant as _instant
from tracker.services.clinic.fhir_medicines import medication_statements
from tracker.services.side_effects import fhir as side_effect_fhir

LOINC = "http://loinc.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
# The PHQ-9 form as LOINC publishes it (the canonical that LHC-Forms and other FHIR tools use).
QUESTIONNAIRE = f"{LOINC}/q/{PHQ9.panel_loinc}"
PANEL_NAME = "PHQ-9 quick depression assessment panel"
TOTAL_NAME = "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"
# Each instrument's panel and total, by LOINC's names (GAD-7: CLINICAL.md, GAD-7 lines; panel 69737-5, total 70274-6).
NAMES: dict[str, tuple[str, str]] = {
    PHQ9.name: (PANEL_NAME, TOTAL_NAME),
    GAD7.name: (
        "Generalized anxiety disorder 7 item (GAD-7)",
        "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
    ),
}
# The media type names the FHIR version, as the FHIR R4 http page says a server may (there is no Bundle element).
MEDIA_TYPE = "application/fhir+json; fhirVersion=4.0"
# Ids of the resources made from a check-in are derived from it, so a second export names them the same.
_NAMESPACE = uuid.UUID("6f1c2a53-3f0b-4c8e-9d55-0a4c1f1f9e21")


def _urn(resource_id: str) -> str:
    return f"urn:uuid:{resource_id}"


def _derived_id(checkin: CheckIn, part: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{checkin.id}/{part}"))


def _coding(code: str, display: str, system: str = LOINC) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def _option(options: Sequence[AnswerOption], value: int) -> AnswerOption:
    # CLINICAL.md §2: answer codes are mapped by value, never by sorting the codes (LA6575-0 before LA6574-3).
    return next(option for option in options if option.value == value)


def patient_resource(patient: Patient, clinic: Clinic) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": str(patient.id),
        "active": patient.phase != "discharged",
        # FHIR refuses an empty text; a name stored blank (before blanks were refused) is left out.
        "name": [{"text": patient.display_name}] if patient.display_name.strip() else [],
        "telecom": [{"system": "phone", "value": patient.phone, "use": "mobile"}],
        "managingOrganization": {"display": clinic.name},
    }


def _instrument(checkin: CheckIn) -> Instrument:
    return INSTRUMENTS[checkin.instrument]


def _answered(checkin: CheckIn) -> list[tuple[Item, AnswerOption]]:
    """Each question asked with the answer given: the instrument's items (PHQ-9's nine, GAD-7's seven), then
    PHQ-9's item 10 when it was answered."""
    form = _instrument(checkin)
    pairs = [(item, _option(form.options, value)) for item, value in zip(form.items, checkin.answers, strict=True)]
    if checkin.difficulty is not None and form.difficulty_item is not None:
        pairs.append((form.difficulty_item, _option(form.difficulty_options, checkin.difficulty)))
    return pairs


def questionnaire_response(checkin: CheckIn, patient: Patient) -> dict[str, Any]:
    """The form as answered; each item's linkId is its LOINC code, as in LOINC's own Questionnaire of the form."""
    form = _instrument(checkin)
    items = [
        {
            "linkId": item.loinc,
            "text": item.text,
            "answer": [{"valueCoding": _coding(option.loinc, option.text)}],
        }
        for item, option in _answered(checkin)
    ]
    items.append(
        {
            "linkId": form.total_loinc,
            "text": "Total score",
            "answer": [{"valueInteger": checkin.total}],
        }
    )
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(checkin.id),
        "questionnaire": f"{LOINC}/q/{form.panel_loinc}",
        "status": "completed",
        "subject": {"reference": _urn(str(patient.id))},
        "authored": _instant(checkin.taken_at, patient.timezone),
        "item": items,
    }


def _observation(
    resource_id: str, checkin: CheckIn, patient: Patient, code: dict[str, str], **value: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": resource_id,
        "status": "final",
        "category": [{"coding": [_coding("survey", "Survey", CATEGORY_SYSTEM)]}],
        "code": {"coding": [code], "text": code["display"]},
        "subject": {"reference": _urn(str(patient.id))},
        "effectiveDateTime": _instant(checkin.taken_at, patient.timezone),
        "derivedFrom": [{"reference": _urn(str(checkin.id))}],
        **value,
    }


def observations(checkin: CheckIn, patient: Patient) -> list[dict[str, Any]]:
    """The panel, its total score and one Observation per answered item, each coded in LOINC."""
    form = _instrument(checkin)
    panel_name, total_name = NAMES[form.name]
    members: list[dict[str, Any]] = []
    for item, option in _answered(checkin):
        answer = {"coding": [_coding(option.loinc, option.text)], "text": option.text}
        code = _coding(item.loinc, item.text)
        members.append(
            _observation(_derived_id(checkin, item.loinc), checkin, patient, code, valueCodeableConcept=answer)
        )
    total = _observation(
        _derived_id(checkin, form.total_loinc),
        checkin,
        patient,
        _coding(form.total_loinc, total_name),
        valueInteger=checkin.total,
        # CLINICAL.md §2 (GAD-7: its own bands): the severity band of the total.
        interpretation=[{"text": checkin.severity}],
    )
    members.insert(0, total)
    panel = _observation(
        _derived_id(checkin, form.panel_loinc),
        checkin,
        patient,
        _coding(form.panel_loinc, panel_name),
        hasMember=[{"reference": _urn(member["id"])} for member in members],
    )
    return [panel, *members]


def patient_bundle(patient: Patient) -> dict[str, Any]:
    """The patient's Bundle as JSON-ready data, validated by fhir.resources (a ValidationError is our bug).

    The caller has already scoped the patient to the staff member's clinic (scope.get_patient_for_staff).
    """
    clinic = db.session.get(Clinic, patient.clinic_id)
    assert clinic is not None  # a patient always has a clinic (foreign key)
    checkins = db.session.scalars(
        sa.select(CheckIn)
        .where(CheckIn.patient_id == patient.id, CheckIn.instrument.in_(list(NAMES)))  # PHQ-9 and GAD-7
        .order_by(*OLDEST_FIRST)  # CLINICAL.md §5: the one order of check-ins
    ).all()
    resources = [patient_resource(patient, clinic)]
    for checkin in checkins:
        resources.append(questionnaire_response(checkin, patient))
        resources.extend(observations(checkin, patient))
    resources.extend(fhir_infusions.administrations(patient))  # the infusions given
    resources.extend(fhir_vitals.vital_signs(patient, clinic.bp_hold_at))  # CLINICAL.md §7: their readings
    resources.extend(side_effect_fhir.observations(patient))  # CLINICAL.md §7: side effects, item by item
    resources.extend(medication_statements(patient, _urn(str(patient.id))))  # CLINICAL.md §7: other medicines
    data = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": clock.now().isoformat(timespec="seconds"),
        "entry": [{"fullUrl": _urn(resource["id"]), "resource": resource} for resource in resources],
    }
    Bundle.model_validate(data)
    return data


def checkin_count(bundle: dict[str, Any]) -> int:
    return sum(1 for entry in bundle["entry"] if entry["resource"]["resourceType"] == "QuestionnaireResponse")


@dataclass(frozen=True)
class PatientExport:
    patient: Patient
    bundle: dict[str, Any]


def bundle_for_staff(staff: User, patient_id: str | uuid.UUID) -> PatientExport:
    """The patient's Bundle for a staff member of their clinic (NotFound otherwise); the export is written to the
    audit log (export.fhir_bundle) with how many check-ins it holds."""
    patient = scope.get_patient_for_staff(staff, patient_id)
    bundle = patient_bundle(patient)
    detail = {"format": "fhir", "count": checkin_count(bundle)}
    audit.record(
        staff, "export.fhir_bundle", patient=patient, target_type="patient", target_id=patient.id, detail=detail
    )
    return PatientExport(patient, bundle)
