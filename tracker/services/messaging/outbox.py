"""Queueing text messages: a row in the outbox, committed with the change that causes it.

Nothing is sent inside a request; the dispatcher job sends what is queued after commit, so a
crash never loses a message and a rolled-back change never sends one.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from tracker import clock, reminders
from tracker.extensions import db
from tracker.models import OutboundMessage

# The check-in reminders' purposes, one per kind (tracker/reminders.py), and the missed-check-in nudge's.
REMINDER_PURPOSE = {
    reminders.INDUCTION_MORNING: "reminder_induction_morning",
    reminders.WEEKLY: "reminder_weekly",
    reminders.CONFIRMING: "reminder_confirming",
}
MISSED_CHECKIN_NUDGE_PURPOSE = "reminder_missed_checkin"
# The texts that count as reminders: at most one a day to a patient, and a reply may start an SMS check-in.
REMINDER_PURPOSES = (*REMINDER_PURPOSE.values(), MISSED_CHECKIN_NUDGE_PURPOSE)


def is_reminder() -> sa.ColumnElement[bool]:
    """The outbox rows that are check-in reminders, whatever their kind."""
    return OutboundMessage.purpose.in_(REMINDER_PURPOSES)


def new_sms(
    to_phone: str,
    body: str,
    purpose: str,
    *,
    patient_id: uuid.UUID | None = None,
    clinic_id: uuid.UUID | None = None,
    critical: bool = False,
    dedupe_key: str | None = None,
    send_after: datetime | None = None,
) -> OutboundMessage:
    """A message for the outbox, not yet added: for tracker.db.insert_once when its dedupe key may be taken."""
    now = clock.now()
    return OutboundMessage(
        to_phone=to_phone,
        body=body,
        purpose=purpose,
        patient_id=patient_id,
        clinic_id=clinic_id,
        critical=critical,
        dedupe_key=dedupe_key,
        status="queued",
        next_attempt_at=send_after or now,
        created_at=now,
    )


def queue_sms(
    to_phone: str,
    body: str,
    purpose: str,
    *,
    patient_id: uuid.UUID | None = None,
    clinic_id: uuid.UUID | None = None,
    critical: bool = False,
    dedupe_key: str | None = None,
    send_after: datetime | None = None,
) -> OutboundMessage:
    """Add a message to the outbox in the current transaction; the caller commits."""
    message = new_sms(
        to_phone,
        body,
        purpose,
        patient_id=patient_id,
        clinic_id=clinic_id,
        critical=critical,
        dedupe_key=dedupe_key,
        send_after=send_after,
    )
    db.session.add(message)
    return message
