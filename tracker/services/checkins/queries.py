"""Reading a patient's own check-ins: one by id, its recent trend and change, and the history pages.

Shared by the patient's web pages and (later) the JSON API; writes go through services/checkins.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from tracker.errors import NotFound
from tracker.extensions import db
from tracker.models import CheckIn, Patient
from tracker.services.scope import parse_id

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
        .order_by(CheckIn.taken_at.desc(), CheckIn.created_at.desc())
        .limit(max(trend_length - 1, 1))
    ).all()
    trend = [*reversed(earlier), checkin][-trend_length:]
    change = Change(earlier[0], checkin.total - earlier[0].total) if earlier else None
    return Summary(checkin, trend, change)


def history(patient: Patient, page: int = 1, per_page: int = HISTORY_PAGE_SIZE) -> HistoryPage:
    """One page of the patient's check-ins, newest first; NotFound past the last page (page 1 may be empty)."""
    if page < 1:
        raise NotFound("No such page.")
    # One row more than the page holds says whether there is a next page, without a COUNT.
    rows = db.session.scalars(
        sa.select(CheckIn)
        .where(CheckIn.patient_id == patient.id)
        .order_by(CheckIn.taken_at.desc(), CheckIn.created_at.desc(), CheckIn.id)
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    if page > 1 and not rows:
        raise NotFound("No such page.")
    return HistoryPage(items=list(rows[:per_page]), number=page, has_next=len(rows) > per_page)
