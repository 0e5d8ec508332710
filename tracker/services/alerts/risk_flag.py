"""The flag a high-risk safety follow-up leaves on a patient (CLINICAL.md §3, Resolve: the documented risk level).

A safety alert resolved at "high" risk flags its patient; the flag stays on the queue, the list and the patient's
page until a clinician clears it, whatever later follow-ups record: only a person who has seen the patient since
may say the risk has passed, and says why: the reason is kept in the audit log with the clearing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa

from tracker.errors import Conflict, Invalid
from tracker.extensions import db
from tracker.models import Alert, Patient, User
from tracker.services import scope
from tracker.services.audit import trail as audit

HIGH = "high"
REASON_MAX = 300


def after_resolve(alert: Alert, risk_level: str | None, at: datetime) -> bool:
    """Flag the alert's patient when a safety follow-up was resolved at high risk; whether it did."""
    if alert.kind != "safety" or risk_level != HIGH:
        return False
    db.session.execute(
        sa.update(Patient)
        .where(Patient.id == alert.patient_id)
        .values(high_risk_flagged_at=at, high_risk_alert_id=alert.id)
        .execution_options(synchronize_session="fetch")
    )
    return True


def clear(staff: User, patient_id: str | uuid.UUID, reason: str | None) -> Patient:
    """A clinician of the patient's clinic clears the flag, saying why (Invalid without a reason, Conflict when
    there is no flag); audited with the reason."""
    patient = scope.get_patient_for_staff(staff, patient_id)
    reason = " ".join((reason or "").split()) or None
    if reason is None:
        raise Invalid.one("reason", "required: say why the high risk has passed (e.g. seen in clinic today)")
    if len(reason) > REASON_MAX:
        raise Invalid.one("reason", f"at most {REASON_MAX} characters")
    if patient.high_risk_flagged_at is None:
        raise Conflict("There is no high-risk flag to clear: someone may have cleared it already.")
    flagged_at, alert_id = patient.high_risk_flagged_at, patient.high_risk_alert_id
    result = db.session.execute(
        sa.update(Patient)
        .where(Patient.id == patient.id, Patient.high_risk_flagged_at.is_not(None))
        .values(high_risk_flagged_at=None, high_risk_alert_id=None)
        .execution_options(synchronize_session="fetch")
    )
    if cast(sa.CursorResult[Any], result).rowcount != 1:
        raise Conflict("There is no high-risk flag to clear: someone may have cleared it already.")
    audit.record(
        staff,
        "patient.high_risk_clear",
        patient=patient,
        target_type="patient",
        target_id=patient.id,
        detail={
            "flagged_at": flagged_at.isoformat(),
            "alert_id": str(alert_id) if alert_id else None,
            "reason": reason,
        },
    )
    db.session.flush()
    return patient
