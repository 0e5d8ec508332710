"""Reading a clinic's alerts: one by id for its staff, the list in the order clinicians work it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from tracker import clock
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


# CLINICAL.md §3: an acknowledged safety alert not resolved within this long comes back to the top of the queue.
RETURNS_AFTER = timedelta(hours=24)
# A filter of the list: a status, or every alert still waiting on a clinician (API.md: ?status=open).
UNRESOLVED = "unresolved"


def returned(now: datetime) -> sa.ColumnElement[bool]:
    """Acknowledged safety alerts left unresolved for 24 hours (CLINICAL.md §3)."""
    return sa.and_(Alert.kind == "safety", Alert.status == "acknowledged", Alert.acknowledged_at <= now - RETURNS_AFTER)


def unresolved() -> sa.ColumnElement[bool]:
    """What still waits on a clinician: an open alert, or a safety alert acknowledged but not resolved.

    An acknowledged attention alert is done with (acknowledging is its one step).
    """
    return sa.or_(Alert.status == "open", sa.and_(Alert.kind == "safety", Alert.status == "acknowledged"))


def alerts_query(staff: User, status: str | None = None, kind: str | None = None) -> sa.Select[tuple[Alert]]:
    """The clinic's alerts in the order clinicians work them.

    Open alerts first, with the acknowledged safety alerts left unresolved for 24 hours among them (CLINICAL.md
    §3), safety first, the longest-waiting first; then acknowledged safety alerts still to resolve; then the
    rest (acknowledged, resolved), newest first. Returned as a query so a caller can page it.
    """
    problems = []
    if status is not None and status not in (*ALERT_STATUSES, UNRESOLVED):
        problems.append(FieldProblem("status", "use open, acknowledged or resolved"))
    if kind is not None and kind not in ALERT_KINDS:
        problems.append(FieldProblem("kind", "use safety or attention"))
    if problems:
        raise Invalid(problems)
    query = scope.scoped_to_clinic(staff, sa.select(Alert), Alert.clinic_id)
    if status == UNRESOLVED:
        query = query.where(unresolved())
    elif status is not None:
        query = query.where(Alert.status == status)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    first = sa.or_(Alert.status == "open", returned(clock.now()))
    to_resolve = sa.and_(Alert.kind == "safety", Alert.status == "acknowledged")
    return query.order_by(
        sa.case((first, 0), (to_resolve, 1), else_=2),
        sa.case((sa.and_(first, Alert.kind == "safety"), 0), else_=1),
        sa.case((first, Alert.raised_at), else_=None),
        Alert.raised_at.desc(),
        Alert.id,
    )


def alerts_for_clinic(staff: User, status: str | None = None, limit: int = 200) -> list[Alert]:
    """The staff member's clinic's alerts (see alerts_query), the read written to the audit log."""
    alerts = list(db.session.scalars(alerts_query(staff, status).limit(limit)))
    audit.record(staff, "alert.list", detail={"status": status, "count": len(alerts)})
    return alerts


def list_for_staff(
    staff: User, status: str | None = None, kind: str | None = None, patient_id: str | None = None
) -> sa.Select[tuple[Alert]]:
    """The clinic's alerts (see alerts_query), of one patient if asked, as a query for the caller to page; the
    read is written to the audit log (alert.list)."""
    query = alerts_query(staff, status, kind).options(selectinload(Alert.patient), selectinload(Alert.checkin_links))
    if patient_id is not None:
        # As the booster list: a patient unknown or of another clinic is not found, the same answer for both.
        query = query.where(Alert.patient_id == scope.get_patient_for_staff(staff, patient_id).id)
    audit.record(staff, "alert.list", detail={"status": status})
    return query
