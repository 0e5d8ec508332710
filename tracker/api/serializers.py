"""Turning rows into the API's shapes (the schemas then check and document them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tracker.instruments import Instrument
from tracker.models import CheckIn, Clinic, Patient
from tracker.services.checkins import safety_for
from tracker.services.patient_list import PatientSummary


def reminders(patient: Patient, clinic: Clinic) -> dict[str, Any]:
    local_time = patient.reminder_local_time or clinic.reminder_local_time
    return {"enabled": patient.reminders_enabled, "local_time": local_time.strftime("%H:%M"), "channel": "sms"}


def me(patient: Patient) -> dict[str, Any]:
    return {
        "id": str(patient.id),
        "display_name": patient.display_name,
        "clinic": {"id": str(patient.clinic.id), "name": patient.clinic.name},
        "phase": patient.phase,
        "timezone": patient.timezone,
        "reminders": reminders(patient, patient.clinic),
        "sms_opted_out": patient.sms_opted_out,
    }


def patient(row: Patient) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "display_name": row.display_name,
        "phone": row.phone,
        "timezone": row.timezone,
        "phase": row.phase,
        "sms_opted_out": row.sms_opted_out,
        "reminders": reminders(row, row.clinic),
        "created_at": row.created_at,
    }


def checkin(row: CheckIn) -> dict[str, Any]:
    safety = safety_for(row)
    return {
        "id": str(row.id),
        "instrument": row.instrument,
        "taken_at": row.taken_at,
        "answers": row.answers,
        "difficulty": row.difficulty,
        "total": row.total,
        "severity": row.severity,
        "diagnosis": row.diagnosis,
        "item9_positive": row.item9_positive,
        "source": row.source,
        "safety": None
        if safety is None
        else {
            "message": safety.message,
            "resources": [{"name": r.name, "phone": r.phone, "text": r.text} for r in safety.resources],
        },
    }


def instrument(scorer: Instrument) -> dict[str, Any]:
    def options(items: Any) -> list[dict[str, Any]]:
        return [{"value": o.value, "text": o.text, "loinc": o.loinc} for o in items]

    difficulty = None
    if scorer.difficulty_item is not None:
        difficulty = {
            "text": scorer.difficulty_item.text,
            "loinc": scorer.difficulty_item.loinc,
            "options": options(scorer.difficulty_options),
        }
    return {
        "name": scorer.name,
        "title": scorer.title,
        "stem": scorer.stem,
        "loinc": scorer.panel_loinc,
        "total_loinc": scorer.total_loinc,
        "items": [{"number": i.number, "text": i.text, "loinc": i.loinc} for i in scorer.items],
        "options": options(scorer.options),
        "difficulty": difficulty,
    }


def patient_summary(summary: PatientSummary, now: datetime) -> dict[str, Any]:
    request = None
    if summary.open_request_id is not None:
        request = {
            "id": str(summary.open_request_id),
            "status": summary.open_request_status,
            "urgency": summary.open_request_urgency,
        }
    return {
        "id": str(summary.patient.id),
        "display_name": summary.patient.display_name,
        "phase": summary.patient.phase,
        "latest_total": summary.latest_total,
        "latest_severity": summary.latest_severity,
        "latest_at": summary.latest_at,
        "change_from_baseline": summary.change_from_baseline,
        "days_since_last_checkin": summary.days_since_last(now),
        "open_alerts": summary.open_alerts,
        "open_booster_request": request,
    }
