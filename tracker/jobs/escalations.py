"""The `escalations` job: every minute, send each safety alert nobody acknowledged in time to the backup contact.

CLINICAL.md §3: a positive item 9 tells the on-call contact at once (tracker/services/alerts.py); the clinic must
acknowledge it, and an unacknowledged event escalates to the backup contact. The deadline is set when the alert
opens, from the clinic's ``safety_ack_minutes`` (default 30).

Once per alert: each alert is claimed in its own transaction (tracker/jobs/claims.py) by writing
``escalated_at``, and the text carries the dedupe key ``safety-escalation:<alert id>``, unique in the outbox.
An alert acknowledged before the claim is never escalated. Services write through db.session, so ``session``
is the app's scoped session. Logs name alerts and clinics by id, never a number.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from tracker.db import insert_once
from tracker.jobs import claims
from tracker.jobs.registry import DbSession, JobResult, job
from tracker.models import Alert, Clinic, Patient
from tracker.services.alerts import writes as alerts
from tracker.services.audit import trail as audit
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import new_sms
from tracker.unit_of_work import transaction

log = logging.getLogger(__name__)

JOB_EVERY = timedelta(minutes=1)
BATCH_SIZE = 200
PURPOSE = "safety_escalation"


def escalation_due(now: datetime) -> sa.ColumnElement[bool]:
    """Open safety alerts past their deadline, not yet escalated."""
    return sa.and_(
        Alert.kind == "safety",
        Alert.status == "open",
        Alert.escalated_at.is_(None),
        Alert.deadline <= now,
    )


def escalate(session: DbSession, alert_id: uuid.UUID, now: datetime) -> str:
    """Claim one alert and queue its escalation, in the caller's transaction; returns what happened."""
    if not claims.claim(session, Alert.id, alert_id, escalation_due(now), {"escalated_at": now}):
        return "claimed_elsewhere"  # another scheduler escalated it, or a clinician acknowledged it
    alert = session.get(Alert, alert_id, populate_existing=True)
    assert alert is not None  # claimed just now
    clinic = session.get(Clinic, alert.clinic_id)
    assert clinic is not None  # an alert always has a clinic (foreign key)
    # CLINICAL.md §3: to the backup contact. Without one, the on-call contact is told again, more sharply.
    contact = clinic.escalation_contact
    outcome = "escalated"
    if contact:
        text = new_sms(
            contact,
            messages.SAFETY_ESCALATION.format(url=alerts.dashboard_url()),
            PURPOSE,
            patient_id=alert.patient_id,
            clinic_id=clinic.id,
            critical=True,
            dedupe_key=f"safety-escalation:{alert.id}",
        )
        if not insert_once(session, text):  # the unique dedupe key: one text per alert, whoever queued it
            outcome = "already_texted"
    else:
        # escalated_at is still written: the dashboard shows the alert overdue, and the run does not retry forever.
        log.warning(
            "clinic %s has no backup or on-call phone: safety alert %s escalated without a text", clinic.id, alert.id
        )
        outcome = "escalated_without_contact"
    patient = session.get(Patient, alert.patient_id)
    audit.record(
        None, "alert.escalate", patient=patient, target_type="alert", target_id=alert.id, detail={"outcome": outcome}
    )
    log.info("safety alert %s: %s", alert.id, outcome)
    return outcome


@job("escalations", every=JOB_EVERY)
def escalations(session: DbSession, now: datetime) -> JobResult:
    """Text the backup contact about safety alerts not acknowledged by their deadline (CLINICAL.md §3)."""
    result = JobResult()
    after: uuid.UUID | None = None
    while ids := claims.due_ids(session, Alert.id, escalation_due(now), after, BATCH_SIZE):
        after = ids[-1]
        for alert_id in ids:
            try:
                with transaction(session):  # one alert per unit of work
                    outcome = escalate(session, alert_id, now)
            except Exception as error:
                # Only the type: messages can quote row values, phone numbers among them.
                log.error(
                    "safety alert %s: escalation failed (%s); tried again next run", alert_id, type(error).__name__
                )
                result.add("errors")
                continue
            result.add(outcome)
    return result
