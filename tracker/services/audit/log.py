"""Reading the audit log: the admin's own clinic only, filtered and a page at a time.

Reading it is itself recorded (`audit.read`), in the same transaction as any other event.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa

from tracker.audit_words import MERGED_ACTIONS
from tracker.errors import MAX_PAGE, FieldProblem, Forbidden, Invalid, NotFound
from tracker.extensions import db
from tracker.local_time import zone_of
from tracker.models import AuditEvent, Clinic, Patient, User
from tracker.services import scope
from tracker.services.audit import trail as audit

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """What to show; dates are days in the clinic's time zone, both ends included."""

    action: str | None = None
    patient_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    date_from: date | None = None
    date_to: date | None = None

    def as_detail(self) -> dict[str, str]:
        """The filters in use, as text for the audit event of this read."""
        return {name: str(value) for name, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class Entry:
    event: AuditEvent
    local_at: datetime  # in the clinic's time zone
    actor_email: str | None
    patient_name: str | None
    actor_display_name: str | None = None

    @property
    def actor_name(self) -> str:
        """Who, as colleagues name them: the system for a job, and an account no longer in the clinic as such."""
        if self.event.actor_id is None:
            return "The system"
        return (self.actor_display_name or "").strip() or self.actor_email or "An unknown account"

    @property
    def merge_key(self) -> tuple[str, str, str] | None:
        """Repeated reads of one record by one person merge on the page (tracker/audit_words.py)."""
        event = self.event
        if event.action not in MERGED_ACTIONS or event.actor_id is None or event.patient_id is None:
            return None
        return (str(event.actor_id), event.action, str(event.patient_id))


@dataclass(frozen=True)
class LogPage:
    entries: list[Entry]
    number: int  # 1-based
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _require_admin(admin: User) -> None:
    scope.require_staff(admin)
    if admin.role != "admin":
        raise Forbidden("Only a clinic admin may read the audit log.")


# The log's filters read days in this range: the log begins after the first, and a day past the last is
# nobody's date (and one past the calendar's end would overflow).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def check(filters: Filters) -> None:
    """Refuse a date range that ends before it starts, naming the field."""
    problems = [
        FieldProblem(name, f"must be between {EARLIEST_DAY:%Y-%m-%d} and {LATEST_DAY:%Y-%m-%d}")
        for name, day in (("date_from", filters.date_from), ("date_to", filters.date_to))
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY
    ]
    if problems:
        raise Invalid(problems)
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        raise Invalid([FieldProblem("date_to", "must be on or after the start date")])


def read(admin: User, filters: Filters, page: int = 1, per_page: int = PAGE_SIZE) -> LogPage:
    """One page of the clinic's audit events, newest first, with who did it and which patient: one query.

    The read is itself written to the log (audit.read), with the filters and the page.
    """
    _require_admin(admin)
    check(filters)
    if not 1 <= page <= MAX_PAGE:
        raise NotFound("No such page.")
    clinic = db.session.get(Clinic, admin.clinic_id)
    assert clinic is not None  # a user always has a clinic (foreign key)
    zone = zone_of(clinic.timezone)
    # The log keeps plain ids (it outlives what it speaks of): outer joins find names that still exist,
    # each name limited to the clinic so another clinic's data can never show through an id.
    query = (
        sa.select(AuditEvent, User.email, Patient.display_name, User.display_name)
        .outerjoin(User, sa.and_(User.id == AuditEvent.actor_id, User.clinic_id == clinic.id))
        .outerjoin(Patient, sa.and_(Patient.id == AuditEvent.patient_id, Patient.clinic_id == clinic.id))
    )
    query = scope.scoped_to_clinic(admin, query, AuditEvent.clinic_id)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.patient_id:
        query = query.where(AuditEvent.patient_id == filters.patient_id)
    if filters.actor_id:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.date_from:
        query = query.where(AuditEvent.at >= _local_midnight(filters.date_from, zone))
    if filters.date_to:
        query = query.where(AuditEvent.at < _local_midnight(filters.date_to + timedelta(days=1), zone))
    # One row more than the page holds says whether there is a next page, without a COUNT.
    rows = db.session.execute(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).offset((page - 1) * per_page).limit(per_page + 1)
    ).all()
    if page > 1 and not rows:
        raise NotFound("No such page.")
    entries = [
        Entry(event, event.at.astimezone(zone), email, name, staff_name)
        for event, email, name, staff_name in rows[:per_page]
    ]
    audit.record(admin, "audit.read", detail={**filters.as_detail(), "page": str(page)})
    return LogPage(entries, page, len(rows) > per_page)


def actions(admin: User) -> list[str]:
    """The actions the clinic's log holds, for the filter's choices."""
    _require_admin(admin)
    query = scope.scoped_to_clinic(admin, sa.select(AuditEvent.action).distinct(), AuditEvent.clinic_id)
    return sorted(db.session.scalars(query))


def choices(admin: User) -> tuple[list[str], list[tuple[uuid.UUID, str]], list[tuple[uuid.UUID, str]]]:
    """The filter's choices: actions in the log, the clinic's patients and its staff (active or not)."""
    _require_admin(admin)
    patients = db.session.execute(
        scope.staff_patients(admin).with_only_columns(Patient.id, Patient.display_name).order_by(Patient.display_name)
    ).all()
    staff = db.session.execute(
        scope.staff_users(admin).with_only_columns(User.id, User.email, User.display_name).order_by(User.email)
    )
    members = [(row[0], f"{row[2]} ({row[1]})" if row[2] else row[1] or "") for row in staff]
    return actions(admin), [(row[0], row[1]) for row in patients], members


def describe(detail: dict[str, Any] | None) -> str:
    """An event's detail as one line of `key: value` pairs, for the table."""
    if not detail:
        return ""
    return "; ".join(f"{key}: {value}" for key, value in sorted(detail.items()))
