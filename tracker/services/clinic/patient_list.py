"""The clinic's patient list with each patient's latest score and what needs attention.

One query for the whole page, whatever the number of patients (window functions and
grouped subqueries, on SQLite and PostgreSQL alike), so the list never turns into N+1.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tracker.extensions import db
from tracker.instruments import PHQ9
from tracker.models import Alert, BoosterRequest, CheckIn, Infusion, Patient, User
from tracker.models.booster import OPEN_STATUSES
from tracker.services import scope
from tracker.services.audit import trail as audit
from tracker.services.checkins import queries as checkin_queries

SORTS = ("name", "latest_total", "change", "days_since_last")


@dataclass(frozen=True)
class PatientSummary:
    patient: Patient
    latest_total: int | None
    latest_severity: str | None
    latest_at: datetime | None
    baseline_total: int | None
    open_alerts: int
    open_request_id: uuid.UUID | None
    open_request_status: str | None
    open_request_urgency: str | None

    @property
    def change_from_baseline(self) -> int | None:
        if self.latest_total is None or self.baseline_total is None:
            return None
        return self.latest_total - self.baseline_total

    def days_since_last(self, now: datetime) -> int | None:
        return None if self.latest_at is None else (now - self.latest_at).days

    @property
    def needs_attention(self) -> bool:
        return self.open_alerts > 0 or self.open_request_id is not None


def _baselines() -> Any:
    """CLINICAL.md §4: the last PHQ-9 before the first induction infusion."""
    first_induction = (
        sa.select(Infusion.patient_id, sa.func.min(Infusion.given_at).label("first_at"))
        .where(Infusion.kind == "induction", Infusion.status == "given")
        .group_by(Infusion.patient_id)
        .subquery("first_induction")
    )
    ranked = (
        sa.select(
            CheckIn.patient_id,
            CheckIn.total,
            sa.func.row_number()
            .over(partition_by=CheckIn.patient_id, order_by=(CheckIn.taken_at.desc(), CheckIn.id.desc()))
            .label("rank"),
        )
        .join(first_induction, first_induction.c.patient_id == CheckIn.patient_id)
        .where(CheckIn.instrument == "phq9", CheckIn.taken_at < first_induction.c.first_at)
        .subquery()
    )
    return sa.select(ranked.c.patient_id, ranked.c.total).where(ranked.c.rank == 1).subquery("baseline")


def summaries(
    staff: User,
    *,
    phase: str | None = None,
    q: str | None = None,
    needs_attention: bool | None = None,
    sort: str = "name",
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PatientSummary], bool]:
    """A page of the clinic's patients and whether more follow."""
    latest = checkin_queries.latest_per_patient(PHQ9.name)
    baseline = _baselines()
    alerts = (
        sa.select(Alert.patient_id, sa.func.count().label("open_alerts"))
        .where(Alert.status == "open")
        .group_by(Alert.patient_id)
        .subquery("alerts")
    )
    requests = (
        sa.select(BoosterRequest.patient_id, BoosterRequest.id, BoosterRequest.status, BoosterRequest.urgency)
        .where(BoosterRequest.status.in_(OPEN_STATUSES))
        .subquery("requests")
    )
    open_alerts = sa.func.coalesce(alerts.c.open_alerts, 0)
    query = (
        scope.staff_patients(staff)
        .add_columns(
            latest.c.total,
            latest.c.severity,
            latest.c.taken_at,
            baseline.c.total,
            open_alerts,
            requests.c.id,
            requests.c.status,
            requests.c.urgency,
        )
        .outerjoin(latest, latest.c.patient_id == Patient.id)
        .outerjoin(baseline, baseline.c.patient_id == Patient.id)
        .outerjoin(alerts, alerts.c.patient_id == Patient.id)
        .outerjoin(requests, requests.c.patient_id == Patient.id)
    )
    if phase:
        query = query.where(Patient.phase == phase)
    if q and q.strip():
        term = q.strip()
        digits = "".join(ch for ch in term if ch.isdigit())
        conditions: list[sa.ColumnElement[bool]] = [Patient.display_name.ilike(f"%{term}%")]
        if len(digits) >= 3:
            conditions.append(Patient.phone.contains(digits))
        query = query.where(sa.or_(*conditions))
    if needs_attention is not None:
        attention = sa.or_(open_alerts > 0, requests.c.id.is_not(None))
        query = query.where(attention if needs_attention else sa.not_(attention))
    order: Any = {
        "name": Patient.display_name,
        "latest_total": latest.c.total,
        "change": latest.c.total - baseline.c.total,
        "days_since_last": latest.c.taken_at,
    }[sort if sort in SORTS else "name"]
    # "Days since" grows as the time shrinks: flip, so descending means the longest silence first.
    flip = sort == "days_since_last"
    ascending = descending == flip
    order = order.asc() if ascending else order.desc()
    query = query.order_by(order.nulls_last(), Patient.display_name, Patient.id).limit(limit + 1).offset(offset)
    rows = db.session.execute(query).all()
    page = [
        PatientSummary(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8]) for row in rows[:limit]
    ]
    return page, len(rows) > limit


def list_for_staff(
    staff: User,
    *,
    phase: str | None = None,
    q: str | None = None,
    needs_attention: bool | None = None,
    sort: str = "name",
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
    page: int | None = None,
) -> tuple[list[PatientSummary], bool]:
    """`summaries`, the read written to the audit log (patients.list) with how many it showed and, for a list
    paged by number, which page."""
    rows, more = summaries(
        staff,
        phase=phase,
        q=q,
        needs_attention=needs_attention,
        sort=sort,
        descending=descending,
        limit=limit,
        offset=offset,
    )
    detail: dict[str, Any] = {"count": len(rows)}
    if page is not None:
        detail["page"] = page
    audit.record(staff, "patients.list", detail=detail)
    return rows, more
