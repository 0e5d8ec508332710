"""Turning rows into the API's shapes (the schemas then check and document them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from tracker.instruments import Instrument
from tracker.models import Alert, BoosterRequest, CheckIn, Clinic, Infusion, Patient
from tracker.outcomes import Outcome
from tracker.services.checkins import safety_for
from tracker.services.course import PatientInfusion
from tracker.services.errors import FieldProblem
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


def _bp(systolic: int | None, diastolic: int | None) -> str | None:
    return f"{systolic}/{diastolic}" if systolic is not None and diastolic is not None else None


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def patient_infusion(row: PatientInfusion) -> dict[str, Any]:
    """The patient's view: the service already left the clinical notes out."""
    return {
        "id": str(row.id),
        "kind": row.kind,
        "status": row.status,
        "scheduled_for": row.scheduled_for,
        "given_at": row.given_at,
        "dose_mg_per_kg": _number(row.dose_mg_per_kg),
        "weight_kg": _number(row.weight_kg),
        "total_mg": _number(row.total_mg),
        "duration_min": row.duration_min,
        "bp_before": _bp(*row.bp_before) if row.bp_before else None,
        "bp_after": _bp(*row.bp_after) if row.bp_after else None,
        "observed_min": row.observed_min,
        "ride_home_confirmed": row.ride_home_confirmed,
        "booster_request_id": str(row.booster_request_id) if row.booster_request_id else None,
    }


def infusion(row: Infusion, warnings: list[FieldProblem] | None = None) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "kind": row.kind,
        "status": row.status,
        "scheduled_for": row.scheduled_for,
        "given_at": row.given_at,
        "dose_mg_per_kg": _number(row.dose_mg_per_kg),
        "weight_kg": _number(row.weight_kg),
        "total_mg": _number(row.total_mg),
        "duration_min": row.duration_min,
        "bp_before": _bp(row.bp_before_systolic, row.bp_before_diastolic),
        "bp_after": _bp(row.bp_after_systolic, row.bp_after_diastolic),
        "observed_min": row.observed_min,
        "ride_home_confirmed": row.ride_home_confirmed,
        "booster_request_id": str(row.booster_request_id) if row.booster_request_id else None,
        "notes": row.notes,
        "warnings": [{"field": w.field, "message": w.message} for w in warnings or []],
    }


def booster_request(row: BoosterRequest, infusion_id: uuid.UUID | None) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "patient_id": str(row.patient_id),
        "status": row.status,
        "urgency": row.urgency,
        "raised_by": row.raised_by,
        "raised_at": row.raised_at,
        "evidence": [str(e.checkin_id) for e in row.evidence],
        "decided_by": str(row.decided_by_id) if row.decided_by_id else None,
        "decided_at": row.decided_at,
        "reason": row.reason,
        "note": row.note,
        "patient_reason": row.patient_reason,
        "infusion_id": str(infusion_id) if infusion_id else None,
    }


def alert(row: Alert) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "patient_id": str(row.patient_id),
        "kind": row.kind,
        "reason": row.reason,
        "status": row.status,
        "raised_at": row.raised_at,
        "deadline": row.deadline,
        "escalated_at": row.escalated_at,
        "acknowledged_by": str(row.acknowledged_by_id) if row.acknowledged_by_id else None,
        "acknowledged_at": row.acknowledged_at,
        "note": row.note,
        "risk_level": row.risk_level,
    }


def outcome(result: Outcome) -> dict[str, Any]:
    return {
        "baseline": result.baseline,
        "current": result.current,
        "change": result.change,
        "response": result.response,
        "remission": result.remission,
        "reference_low": result.reference_low,
    }
