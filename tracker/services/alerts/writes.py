"""Opening and handling alerts: safety (CLINICAL.md §3) with its texts to on-call, attention alerts once per key."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app

from tracker import clock
from tracker.db import insert_once
from tracker.errors import Conflict, FieldProblem, Invalid, NotFound
from tracker.extensions import db
from tracker.models import Alert, BoosterRequest, CheckIn, Clinic, Patient, User
from tracker.models.alert import ALERT_CAUSES, RISK_LEVELS
from tracker.services import scope
from tracker.services.audit import trail as audit
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import queue_sms

log = logging.getLogger(__name__)


SAFETY_REASON = "PHQ-9 item 9 answered above 0"


PATIENT_REQUEST_REASON = "The patient asked for a booster infusion."


REASON_MAX = 300  # Alert.reason


ATTENTION_CAUSES = tuple(cause for cause in ALERT_CAUSES if cause != "safety")


NOTE_MAX = 2000  # Alert.note


def dashboard_url() -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/clinic/"


def open_safety_alert(patient: Patient, checkin: CheckIn) -> Alert:
    """CLINICAL.md §3: a positive item 9 opens a safety alert and tells the on-call contact at once."""
    now = clock.now()
    clinic = db.session.get(Clinic, patient.clinic_id)
    assert clinic is not None  # a patient always has a clinic (foreign key)
    alert = Alert(
        patient_id=patient.id,
        clinic_id=clinic.id,
        kind="safety",
        cause="safety",
        reason=SAFETY_REASON,
        checkin_id=checkin.id,
        status="open",
        raised_at=now,
        deadline=now + timedelta(minutes=clinic.safety_ack_minutes),
    )
    db.session.add(alert)
    db.session.flush()
    contact = clinic.oncall_contact
    if contact:
        queue_sms(
            contact,
            messages.SAFETY_ONCALL.format(url=dashboard_url()),
            "safety_oncall",
            clinic_id=clinic.id,
            patient_id=patient.id,
            critical=True,
            dedupe_key=f"safety-oncall:{alert.id}",
        )
    else:
        # The alert still shows on the dashboard; the operator must set a contact.
        log.warning("clinic %s has no on-call or backup phone: safety alert %s not texted", clinic.id, alert.id)
    return alert


def _by_dedupe_key(dedupe_key: str) -> Alert | None:
    return db.session.scalar(sa.select(Alert).where(Alert.dedupe_key == dedupe_key))


def open_attention_alert(
    patient: Patient,
    reason: str,
    *,
    cause: str,
    dedupe_key: str | None = None,
    booster_request: BoosterRequest | None = None,
) -> Alert:
    """Open an attention alert: its cause is one of ATTENTION_CAUSES (a patient's request, missed check-ins, ...).

    With a dedupe_key the alert opens once: a second call, even a concurrent one, gets the first.
    """
    if cause not in ATTENTION_CAUSES:
        raise ValueError(f"not a cause of an attention alert: {cause!r}")
    reason = reason.strip()
    if not reason:
        raise Invalid.one("reason", "an alert needs a reason")
    if len(reason) > REASON_MAX:
        # Reasons are written by jobs, some quoting an error: shorten one rather than fail the job.
        reason = reason[: REASON_MAX - 1] + "…"
    if dedupe_key is not None and (existing := _by_dedupe_key(dedupe_key)) is not None:
        return existing
    alert = Alert(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        kind="attention",
        cause=cause,
        reason=reason,
        booster_request_id=booster_request.id if booster_request is not None else None,
        dedupe_key=dedupe_key,
        status="open",
        raised_at=clock.now(),
    )
    if insert_once(db.session, alert):
        return alert
    # Lost a race to the unique dedupe_key: the caller's transaction goes on with the winner.
    existing = _by_dedupe_key(dedupe_key) if dedupe_key is not None else None
    if existing is None:
        raise RuntimeError(f"attention alert for patient {patient.id} could be neither opened nor found")
    return existing


def acknowledge(alert: Alert, by: User, note: str | None = None, risk_level: str | None = None) -> Alert:
    """A clinician takes charge of an alert; a safety alert needs the documented risk level.

    CLINICAL.md §3: who followed up, when, and the documented risk level are recorded.
    Two clinicians acknowledging at once: the conditional update lets one win; the other gets Conflict.
    """
    scope.require_staff(by)
    if alert.clinic_id != by.clinic_id:
        raise NotFound("No such alert.")
    if alert.status != "open":
        raise Conflict("This alert has already been acknowledged.")
    problems = []
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        problems.append(FieldProblem("note", f"at most {NOTE_MAX} characters"))
    if risk_level is not None and risk_level not in RISK_LEVELS:
        problems.append(FieldProblem("risk_level", "choose low, moderate or high"))
    elif risk_level is None and alert.kind == "safety":
        # CLINICAL.md §3: the follow-up of a positive item 9 records the documented risk level.
        problems.append(FieldProblem("risk_level", "required for a safety alert: low, moderate or high"))
    if problems:
        raise Invalid(problems)
    now = clock.now()
    result = db.session.execute(
        sa.update(Alert)
        .where(Alert.id == alert.id, Alert.status == "open")
        .values(status="acknowledged", acknowledged_by_id=by.id, acknowledged_at=now, note=note, risk_level=risk_level)
        .execution_options(synchronize_session=False)
    )
    if cast(sa.CursorResult[Any], result).rowcount != 1:
        raise Conflict("Someone else acknowledged this alert first.")
    # Read back what was written: the ORM's own sync skips attributes it never loaded.
    db.session.refresh(alert)
    patient = db.session.get(Patient, alert.patient_id)
    audit.record(
        by,
        "alert.acknowledge",
        patient=patient,
        target_type="alert",
        target_id=alert.id,
        detail={"kind": alert.kind, "risk_level": risk_level},
    )
    db.session.flush()
    return alert
