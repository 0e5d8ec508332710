"""Queueing text messages: a row in the outbox, committed with the change that causes it.

Nothing is sent inside a request; the dispatcher job sends what is queued after commit, so a
crash never loses a message and a rolled-back change never sends one.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from tracker import clock
from tracker.extensions import db
from tracker.models import OutboundMessage

# Every reminder's purpose starts so ("reminder_weekly", "reminder_missed_checkin", ...).
REMINDER_PURPOSE_PREFIX = "reminder"


def is_reminder() -> sa.ColumnElement[bool]:
    """The outbox rows that are check-in reminders, whatever their kind."""
    return OutboundMessage.purpose.startswith(REMINDER_PURPOSE_PREFIX)


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
    now = clock.now()
    message = OutboundMessage(
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
    db.session.add(message)
    return message
