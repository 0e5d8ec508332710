"""Reading a patient's own check-ins: one by id, its recent trend and change, and the history pages; and a
patient's check-ins for the staff of their clinic.

Shared by the patient's web pages and the JSON API; writes go through services/checkins/submit.py. Also the
one order of check-ins and the one "latest check-in" every other reader uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tracker.errors import MAX_PAGE, NotFound
from tracker.extensions import db
from tracker.models import CheckIn, Patient, User
from tracker.services.audit import trail as audit
from tracker.services.scope import get_patient_for_staff, parse_id

# One order for check-ins everywhere: when taken, then when stored (a late sync of an earlier answer sorts by
# its own time), then the id, so ties never depend on the database.
OLDEST_FIRST = (CheckIn.taken_at, CheckIn.created_at, CheckIn.id)
NEWEST_FIRST = (CheckIn.taken_at.desc(), CheckIn.created_at.desc(), CheckIn.id.desc())

HISTORY_PAGE_SIZE = 20
TREND_LENGTH = 8
# CLINICAL.md §4: 5 points is the minimal clinically important difference (Löwe 2004).
MEANINGFUL_CHANGE = 5


@dataclass(frozen=True)
class Change:
    """How a check-in's total compares with the patient's previous one of the same instrument."""

    previous: CheckIn
    difference: int  # this total minus the previous total

    @property
    def direction(self) -> str:
        if self.difference == 0:
            return "same"
        return "lower" if self.difference < 0 else "higher"

    @property
    def meaningful(self) -> bool:
        return abs(self.difference) >= MEANINGFUL_CHANGE


@dataclass(frozen=True)
class Summary:
    """One check-in with what its result page shows beside it."""

    checkin: CheckIn
    trend: list[CheckIn]  # oldest first, ending with `checkin`
    change: Change | None  # None for the patient's first check-in of this instrument


@dataclass(frozen=True)
class HistoryPage:
    items: list[CheckIn]  # newest first
    number: int  # 1-based
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def find_own(patient: Patient, checkin_id: uuid.UUID) -> CheckIn | None:
    """The patient's check-in with this id, or None (also when it is someone else's)."""
    return db.session.scalar(sa.select(CheckIn).where(CheckIn.id == checkin_id, CheckIn.patient_id == patient.id))


def own_checkin(patient: Patient, checkin_id: str | uuid.UUID) -> CheckIn:
    """The patient's check-in; NotFound for an unknown id, a malformed one, or another patient's."""
    checkin = find_own(patient, parse_id(checkin_id))
    if checkin is None:
        raise NotFound("No such check-in.")
    return checkin


def summary(patient: Patient, checkin_id: str | uuid.UUID, trend_length: int = TREND_LENGTH) -> Summary:
    """A check-in, the ones just before it (the trend) and the change since the last one: two queries."""
    checkin = own_checkin(patient, checkin_id)
    earlier = db.session.scalars(
        sa.select(CheckIn)
        .where(
            CheckIn.patient_id == patient.id,
            CheckIn.instrument == checkin.instrument,
            CheckIn.id != checkin.id,
            # Taken before it; two taken at the same instant are ordered by when they were stored.
            sa.or_(
                CheckIn.taken_at < checkin.taken_at,
                sa.and_(CheckIn.taken_at == checkin.taken_at, CheckIn.created_at < checkin.created_at),
            ),
        )
        .order_by(*NEWEST_FIRST)
        .limit(max(trend_length - 1, 1))
    ).all()
    trend = [*reversed(earlier), checkin][-trend_length:]
    change = Change(earlier[0], checkin.total - earlier[0].total) if earlier else None
    return Summary(checkin, trend, change)


def history(patient: Patient, page: int = 1, per_page: int = HISTORY_PAGE_SIZE) -> HistoryPage:
    """One page of the patient's check-ins, newest first; NotFound past the last page (page 1 may be empty)."""
    if not 1 <= page <= MAX_PAGE:
        raise NotFound("No such page.")
    # One row more than the page holds says whether there is a next page, without a COUNT.
    rows = db.session.scalars(
        sa.select(CheckIn)
        .where(CheckIn.patient_id == patient.id)
        .order_by(*NEWEST_FIRST)
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    if page > 1 and not rows:
        raise NotFound("No such page.")
    return HistoryPage(items=list(rows[:per_page]), number=page, has_next=len(rows) > per_page)


def latest_per_patient(
    instrument: str | None, patient_ids: Collection[uuid.UUID] | None = None, since: datetime | None = None
) -> sa.Subquery:
    """Each patient's latest check-in of `instrument` (None: of any), a row each: patient_id, id, total,
    severity, taken_at. For every patient, or only those given; with `since`, only check-ins taken after it
    (a patient with none after it has no row), so only those are ranked."""
    ranked = sa.select(
        CheckIn.patient_id,
        CheckIn.id,
        CheckIn.total,
        CheckIn.severity,
        CheckIn.taken_at,
        sa.func.row_number().over(partition_by=CheckIn.patient_id, order_by=NEWEST_FIRST).label("rank"),
    )
    if instrument is not None:
        ranked = ranked.where(CheckIn.instrument == instrument)
    if patient_ids is not None:
        ranked = ranked.where(CheckIn.patient_id.in_(patient_ids))
    if since is not None:
        ranked = ranked.where(CheckIn.taken_at > since)
    ranked_sq = ranked.subquery()
    return sa.select(ranked_sq).where(ranked_sq.c.rank == 1).subquery("latest")


def latest_checkins(
    patient_ids: Collection[uuid.UUID], instrument: str | None, since: datetime | None = None
) -> dict[uuid.UUID, Any]:
    """Each given patient's latest check-in (of `instrument`; None: of any; after `since` if given) as a row:
    id, total, taken_at."""
    if not patient_ids:
        return {}
    latest = latest_per_patient(instrument, patient_ids, since)
    return {row.patient_id: row for row in db.session.execute(sa.select(latest))}


def latest_taken_at(
    patient_ids: Collection[uuid.UUID], instrument: str | None, since: datetime | None = None
) -> dict[uuid.UUID, datetime]:
    return {patient_id: row.taken_at for patient_id, row in latest_checkins(patient_ids, instrument, since).items()}


def checkins_for_staff(staff: User, patient_id: str | uuid.UUID) -> sa.Select[tuple[CheckIn]]:
    """The patient's check-ins for a staff member of their clinic (NotFound otherwise), as a query for the caller
    to page; the read is written to the audit log (checkins.read)."""
    patient = get_patient_for_staff(staff, patient_id)
    audit.record(staff, "checkins.read", patient=patient, target_type="patient", target_id=patient.id)
    return sa.select(CheckIn).where(CheckIn.patient_id == patient.id)
