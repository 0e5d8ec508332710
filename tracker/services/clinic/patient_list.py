"""The clinic's patient list with each patient's latest score and what needs attention.

One query for the whole page, whatever the number of patients: the scores come from each patient's stored
figures (services.clinic.summary keeps them), so no page ranks the clinic's check-ins; open alerts and
requests, few and indexed by clinic and status, are read live. "Days since" is worked out when drawn.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import sqlalchemy as sa

from tracker import ages
from tracker.extensions import db
from tracker.models import Alert, BoosterRequest, Patient, PatientSummaryRow, User
from tracker.models.booster import OPEN_STATUSES
from tracker.services import scope
from tracker.services.alerts import queries as alert_queries
from tracker.services.audit import trail as audit

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

    def days_since_last(self, now: datetime, zone: tzinfo) -> int | None:
        """Calendar days since the latest check-in on the clinic's clock, as the pages count them (tracker/ages.py)."""
        return None if self.latest_at is None else ages.days_ago(self.latest_at, now, zone)

    @property
    def needs_attention(self) -> bool:
        return self.open_alerts > 0 or self.open_request_id is not None


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
    figures = PatientSummaryRow
    # First the page's patients, ordered on narrow rows (ids, names and the sort key: an index-only read of the
    # clinic's patients by name, joined to the stored figures); then only those rows are read in full.
    keys = scope.staff_patients(staff).outerjoin(figures, figures.patient_id == Patient.id)
    if phase:
        keys = keys.where(Patient.phase == phase)
    if q and q.strip():
        term = q.strip()
        digits = "".join(ch for ch in term if ch.isdigit())
        # autoescape: "_" and "%" in a name are letters the clinician typed, not LIKE wildcards.
        conditions: list[sa.ColumnElement[bool]] = [Patient.display_name.icontains(term, autoescape=True)]
        if len(digits) >= 3:
            conditions.append(Patient.phone.contains(digits, autoescape=True))
        keys = keys.where(sa.or_(*conditions))
    if needs_attention is not None:
        # As EXISTS, so the planner takes it for the (anti-)join it is.
        attention = sa.or_(
            sa.exists().where(Alert.patient_id == Patient.id, alert_queries.unresolved()),
            sa.exists().where(BoosterRequest.patient_id == Patient.id, BoosterRequest.status.in_(OPEN_STATUSES)),
        )
        keys = keys.where(attention if needs_attention else sa.not_(attention))
    key: Any = {
        "name": Patient.display_name,
        "latest_total": figures.latest_total,
        "change": figures.latest_total - figures.baseline_total,
        "days_since_last": figures.latest_at,
    }[sort if sort in SORTS else "name"]
    # "Days since" grows as the time shrinks: flip, so descending means the longest silence first.
    ascending = descending == (sort == "days_since_last")

    def ordered(column: Any) -> Any:
        order = column.asc() if ascending else column.desc()
        # A patient who never checked in has waited longest of all: first among the oldest check-ins.
        return order.nulls_first() if sort == "days_since_last" and ascending else order.nulls_last()

    page_keys = (
        keys.with_only_columns(Patient.id, Patient.display_name, key.label("sort_key"))
        .order_by(ordered(key), Patient.display_name, Patient.id)
        .limit(limit + 1)
        .offset(offset)
        .subquery("page")
    )
    # CLINICAL.md §4: an acknowledged safety alert is open until it is resolved; counted for the page's rows only.
    open_alerts = (
        sa.select(sa.func.count())
        .where(Alert.patient_id == Patient.id, alert_queries.unresolved())
        .scalar_subquery()
        .label("open_alerts")
    )
    # At most one open request per patient (uq_booster_request_one_open): a join that never multiplies rows.
    is_open_request = sa.and_(BoosterRequest.patient_id == Patient.id, BoosterRequest.status.in_(OPEN_STATUSES))
    query = (
        sa.select(
            Patient,
            figures.latest_total,
            figures.latest_severity,
            figures.latest_at,
            figures.baseline_total,
            open_alerts,
            BoosterRequest.id,
            BoosterRequest.status,
            BoosterRequest.urgency,
        )
        .join(page_keys, page_keys.c.id == Patient.id)
        .outerjoin(figures, figures.patient_id == Patient.id)
        .outerjoin(BoosterRequest, is_open_request)
        .order_by(ordered(page_keys.c.sort_key), page_keys.c.display_name, page_keys.c.id)
    )
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
