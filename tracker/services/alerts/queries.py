"""Reading a clinic's alerts: one by id for its staff, the list in the order clinicians work it."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from tracker.errors import FieldProblem, Invalid, NotFound
from tracker.extensions import db
from tracker.models import Alert, User
from tracker.models.alert import ALERT_KINDS, ALERT_STATUSES
from tracker.services import scope
from tracker.services.audit import trail as audit


def get_alert_for_staff(staff: User, alert_id: str | uuid.UUID) -> Alert:
    """The alert if it belongs to the staff member's clinic; NotFound otherwise."""
    query = scope.scoped_to_clinic(staff, sa.select(Alert), Alert.clinic_id).where(Alert.id == scope.parse_id(alert_id))
    alert = db.session.scalar(query)
    if alert is None:
        raise NotFound("No such alert.")
    return alert


def alerts_query(staff: User, status: str | None = None, kind: str | None = None) -> sa.Select[tuple[Alert]]:
    """The clinic's alerts: open before acknowledged, safety first, the longest-waiting first.

    Acknowledged alerts follow, newest first. Returned as a query so a caller can page it.
    """
    problems = []
    if status is not None and status not in ALERT_STATUSES:
        problems.append(FieldProblem("status", "use open or acknowledged"))
    if kind is not None and kind not in ALERT_KINDS:
        problems.append(FieldProblem("kind", "use safety or attention"))
    if problems:
        raise Invalid(problems)
    query = scope.scoped_to_clinic(staff, sa.select(Alert), Alert.clinic_id)
    if status is not None:
        query = query.where(Alert.status == status)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    is_open = Alert.status == "open"
    return query.order_by(
        sa.case((is_open, 0), else_=1),
        sa.case((sa.and_(is_open, Alert.kind == "safety"), 0), else_=1),
        sa.case((is_open, Alert.raised_at), else_=None),
        Alert.raised_at.desc(),
        Alert.id,
    )


def alerts_for_clinic(staff: User, status: str | None = None, limit: int = 200) -> list[Alert]:
    """The staff member's clinic's alerts (see alerts_query), the read written to the audit log."""
    alerts = list(db.session.scalars(alerts_query(staff, status).limit(limit)))
    audit.record(staff, "alert.list", detail={"status": status, "count": len(alerts)})
    return alerts


def list_for_staff(staff: User, status: str | None = None) -> sa.Select[tuple[Alert]]:
    """The clinic's alerts (see alerts_query) as a query for the caller to page; the read is written to the audit
    log (alert.list)."""
    query = alerts_query(staff, status)
    audit.record(staff, "alert.list", detail={"status": status})
    return query
