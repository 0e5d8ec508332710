"""The `escalations` job: every minute, take the next escalation step of each safety alert nobody acknowledged.

CLINICAL.md §3: a positive item 9 tells the on-call contact at once (tracker/services/alerts/writes.py); the clinic
must acknowledge it. Unacknowledged at the deadline (the clinic's ``safety_ack_minutes``, default 30) it goes to
the backup contact; still unacknowledged a second deadline later, to every active clinician and admin with a
phone (tracker/services/alerts/escalation.py).

Each step once: each alert is claimed in its own transaction (tracker/jobs/claims.py) by writing the next
``escalation_step``, and each text carries a dedupe key (``safety-escalation:<alert id>``, then
``safety-escalation-all:<alert id>:<user id>``), unique in the outbox.
An alert acknowledged before the claim is never escalated. Services write through db.session, so ``session``
is the app's scoped session. Logs name alerts and clinics by id, never a number.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from tracker.jobs import claims
from tracker.jobs.registry import DbSession, JobResult, job
from tracker.models import Alert
from tracker.services.alerts import escalation
from tracker.unit_of_work import transaction

log = logging.getLogger(__name__)

JOB_EVERY = timedelta(minutes=1)
BATCH_SIZE = 200
PURPOSE = escalation.PURPOSE


def escalation_due(now: datetime) -> sa.ColumnElement[bool]:
    """Open safety alerts whose next escalation step has come."""
    return escalation.due(now)


def escalate(session: DbSession, alert_id: uuid.UUID, now: datetime) -> str:
    """Claim one alert's next step and take it, in the caller's transaction; returns what happened."""
    if not claims.claim(session, Alert.id, alert_id, escalation_due(now), escalation.claimed(now)):
        return "claimed_elsewhere"  # another scheduler took the step, or a clinician acknowledged it
    alert = session.get(Alert, alert_id, populate_existing=True)
    assert alert is not None  # claimed just now
    return escalation.take_step(alert, now)


@job("escalations", every=JOB_EVERY)
def escalations(session: DbSession, now: datetime) -> JobResult:
    """Escalate safety alerts not acknowledged by their deadline, a step at a time (CLINICAL.md §3)."""
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
