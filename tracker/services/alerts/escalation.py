"""Escalating a safety alert nobody acknowledged, in steps, each once (CLINICAL.md §3).

Step 1, at the clinic's deadline: the backup contact (the on-call contact again when there is no backup).
Step 2, a second deadline later (the clinic's safety_ack_minutes again): every active clinician and admin of
the clinic who has a phone. The job claims the step (writing escalation_step + 1 and clearing escalate_at),
then calls take_step in the same transaction. Logs name alerts and clinics by id, never a number or a word.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from tracker.db import insert_once
from tracker.extensions import db
from tracker.models import Alert, Clinic, Patient, User
from tracker.models.alert import ESCALATION_STEPS
from tracker.models.user import STAFF_ROLES
from tracker.services.alerts.writes import dashboard_url
from tracker.services.audit import trail as audit
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import new_sms

log = logging.getLogger(__name__)

PURPOSE = "safety_escalation"
PURPOSE_ALL = "safety_escalation_all"


def due(now: datetime) -> sa.ColumnElement[bool]:
    """Open (unacknowledged) safety alerts whose next step has come."""
    return sa.and_(
        Alert.kind == "safety",
        Alert.status == "open",
        Alert.escalation_step < ESCALATION_STEPS,
        Alert.escalate_at.is_not(None),
        Alert.escalate_at <= now,
    )


def claimed(now: datetime) -> dict[str, object]:
    """What a claim writes: the next step taken, none due until take_step says when."""
    return {"escalation_step": Alert.escalation_step + 1, "escalate_at": None}


def _text(to_phone: str, alert: Alert, purpose: str, dedupe_key: str) -> bool:
    text = new_sms(
        to_phone,
        messages.SAFETY_ESCALATION.format(url=dashboard_url()),
        purpose,
        patient_id=alert.patient_id,
        clinic_id=alert.clinic_id,
        critical=True,
        dedupe_key=dedupe_key,
    )
    return insert_once(db.session, text)  # the unique dedupe key: one text per step and person


def staff_phones(clinic_id: object) -> list[tuple[object, str]]:
    """Every active clinician and admin of the clinic who has a phone: (user id, phone)."""
    rows = db.session.execute(
        sa.select(User.id, User.phone)
        .where(User.clinic_id == clinic_id, User.role.in_(STAFF_ROLES), User.active.is_(True), User.phone.is_not(None))
        .order_by(User.id)
    ).all()
    return [(user_id, phone) for user_id, phone in rows if phone]


def take_step(alert: Alert, now: datetime) -> str:
    """Send the step the claim took (alert.escalation_step, already written); returns what happened."""
    clinic = db.session.get(Clinic, alert.clinic_id)
    assert clinic is not None  # an alert always has a clinic (foreign key)
    step = alert.escalation_step
    if step == 1:
        alert.escalated_at = now
        alert.escalate_at = now + timedelta(minutes=clinic.safety_ack_minutes)
        contact = clinic.escalation_contact
        if contact:
            outcome = (
                "escalated" if _text(contact, alert, PURPOSE, f"safety-escalation:{alert.id}") else "already_texted"
            )
        else:
            # escalated_at is still written: the dashboard shows the alert overdue, and the run does not retry.
            log.warning(
                "clinic %s has no backup or on-call phone: safety alert %s escalated without a text",
                clinic.id,
                alert.id,
            )
            outcome = "escalated_without_contact"
    else:
        alert.escalated_all_at = now
        alert.escalate_at = None  # CLINICAL.md §3: each step once; there is no third
        phones = staff_phones(clinic.id)
        for user_id, phone in phones:
            _text(phone, alert, PURPOSE_ALL, f"safety-escalation-all:{alert.id}:{user_id}")
        if phones:
            outcome = "escalated_to_staff"
        else:
            log.warning("clinic %s: no clinician or admin has a phone: safety alert %s not texted", clinic.id, alert.id)
            outcome = "escalated_to_staff_without_contact"
    db.session.flush()
    patient = db.session.get(Patient, alert.patient_id)
    audit.record(
        None,
        "alert.escalate",
        patient=patient,
        target_type="alert",
        target_id=alert.id,
        detail={"outcome": outcome, "step": step},
    )
    log.info("safety alert %s: %s", alert.id, outcome)
    return outcome
