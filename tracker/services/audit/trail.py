"""Writing the audit log: who read or changed which patient, when, from where."""

from __future__ import annotations

import uuid
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from tracker import clock
from tracker.extensions import db
from tracker.models import AuditEvent, Patient, User


@dataclass(frozen=True)
class Origin:
    """Where the work came from, as the way in saw it: the address and the browser or app."""

    ip: str | None
    user_agent: str | None


# Set by the way in for each request (tracker/__init__.py); jobs and commands leave it empty.
_origin: ContextVar[Origin | None] = ContextVar("audit_origin", default=None)


def set_origin(ip: str | None, user_agent: str | None) -> Token[Origin | None]:
    return _origin.set(Origin(ip, (user_agent or "")[:300] or None))


def clear_origin(token: Token[Origin | None]) -> None:
    _origin.reset(token)


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
    origin = _origin.get()
    event = AuditEvent(
        at=clock.now(),
        actor_id=actor.id if actor else None,
        actor_role=actor.role if actor else None,
        clinic_id=patient.clinic_id if patient else (actor.clinic_id if actor else None),
        patient_id=patient.id if patient else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        ip=origin.ip if origin else None,
        user_agent=origin.user_agent if origin else None,
        detail=detail,
    )
    db.session.add(event)
    return event
