"""Writing the audit log: who read or changed which patient, when, from where."""

from __future__ import annotations

import uuid
from typing import Any

from flask import has_request_context, request

from tracker import clock
from tracker.extensions import db
from tracker.models import AuditEvent, Patient, User


def record(
    actor: User | None,
    action: str,
    *,
    patient: Patient | None = None,
    target_type: str | None = None,
    target_id: str | uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (it commits with the work it records)."""
    ip = user_agent = None
    if has_request_context():
        ip = request.remote_addr
        user_agent = (request.user_agent.string or "")[:300] or None
    event = AuditEvent(
        at=clock.now(),
        actor_id=actor.id if actor else None,
        actor_role=actor.role if actor else None,
        clinic_id=patient.clinic_id if patient else (actor.clinic_id if actor else None),
        patient_id=patient.id if patient else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        ip=ip,
        user_agent=user_agent,
        detail=detail,
    )
    db.session.add(event)
    return event
