"""A patient's one-page summary for the paper chart: what a clinician files or hands over at a visit.

The record is the patient's page's own (patient_page.read, audited as a read with view "print summary"), so the
figures are the same ones: the outcome (CLINICAL.md §4), the open request's phrase (§5), the open alerts (§3).
Added here: the latest GAD-7, and the course in a few lines, so a year of infusions still fits on one page; and
the safety facts a clinician reading the paper chart must not miss: the high-risk flag and the latest safety
follow-up (CLINICAL.md §3, §7: its risk level and the C-SSRS screener's suggestion), the current medicines, those
to review before the infusion first (§7), and the latest blood pressure with its caution or hold mark (§7).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from tracker import clock
from tracker.extensions import db
from tracker.infusions import INFUSION_KINDS
from tracker.instruments import GAD7
from tracker.models import Alert, CheckIn, Infusion, User
from tracker.services.checkins.queries import NEWEST_FIRST
from tracker.services.clinic import patient_page
from tracker.services.clinic.medicines import MedicineRow
from tracker.services.clinic.patient_page import PatientRecord
from tracker.vitals import BP_FIELDS, HOLD, HOLD_CONFIRMED_FIELD, MOMENT_WORDS, MOMENTS, BloodPressure, VitalCheck

VIEW = "print summary"
# The latest infusions listed by line; the rest are counted (one page holds about this many, with their vital
# signs on a second line).
INFUSIONS_LISTED = 8


@dataclass(frozen=True)
class Course:
    """The infusions in brief: how many of each kind were given, since when, the next booked, the latest."""

    given_by_kind: dict[str, int]
    first_given: datetime | None
    next_booked: Infusion | None
    latest: list[Infusion]  # latest first, at most INFUSIONS_LISTED
    not_listed: int

    @property
    def given(self) -> int:
        return sum(self.given_by_kind.values())


@dataclass(frozen=True)
class LatestBloodPressure:
    """The last blood pressure measured at a visit given, and its marks (CLINICAL.md §7): its own caution (at or
    above 140/90) or hold, and a hold the clinician confirmed at that visit, whichever reading it was at (each
    mark names its reading); none when there is neither."""

    infusion: Infusion
    moment: str  # before, during, after (tracker.vitals.MOMENTS)
    reading: BloodPressure
    marks: tuple[VitalCheck, ...]

    @property
    def moment_words(self) -> str:
        return MOMENT_WORDS[self.moment]


@dataclass(frozen=True)
class PrintSummary:
    record: PatientRecord
    latest_gad7: CheckIn | None
    course: Course
    printed_at: datetime
    # The latest resolved safety alert: its date, documented risk level and the screener's suggestion.
    last_follow_up: Alert | None = None
    medicines: tuple[MedicineRow, ...] = ()  # current ones, those to review before the infusion first
    latest_bp: LatestBloodPressure | None = None


def current_medicines(rows: tuple[MedicineRow, ...]) -> tuple[MedicineRow, ...]:
    """CLINICAL.md §7: the current medicines, those on the clinic's review list first, each group by name."""
    current = [r for r in rows if r.current]
    return tuple(sorted(current, key=lambda r: r.review is None))  # stable: the list's own order by name


def latest_bp(infusions: list[Infusion]) -> LatestBloodPressure | None:
    """The last reading of the latest given infusion that has one (infusions latest first), with its mark."""
    for infusion in infusions:
        if infusion.status != "given":
            continue
        readings = infusion.readings
        taken = [(m, readings[f]) for m, f in zip(MOMENTS, BP_FIELDS, strict=True) if readings.get(f) is not None]
        if not taken:
            continue
        moment, reading = taken[-1]
        own = BP_FIELDS[MOMENTS.index(moment)]
        marks = tuple(c for c in infusion.vital_checks if c.field in (own, HOLD_CONFIRMED_FIELD) or c.level == HOLD)
        assert reading is not None
        return LatestBloodPressure(infusion, moment, reading, marks)
    return None


def course_of(infusions: list[Infusion], now: datetime) -> Course:
    """The course from the patient's infusions, latest first (course_queries.infusions_of); cancelled ones are
    left out, as the chart leaves them out: they were never given."""
    kept = [i for i in infusions if i.status != "cancelled"]
    given = [i for i in kept if i.status == "given" and i.given_at is not None]
    counts = Counter(i.kind for i in given)
    booked = [i for i in kept if i.status == "scheduled" and i.scheduled_for is not None and i.scheduled_for >= now]
    return Course(
        given_by_kind={kind: counts[kind] for kind in INFUSION_KINDS if counts[kind]},
        first_given=min((i.given_at for i in given if i.given_at is not None), default=None),
        next_booked=min(booked, key=lambda i: i.scheduled_for or now, default=None),
        latest=kept[:INFUSIONS_LISTED],
        not_listed=max(0, len(kept) - INFUSIONS_LISTED),
    )


def summary_for_staff(staff: User, patient_id: str | uuid.UUID) -> PrintSummary:
    """The summary of a patient of the staff member's clinic (NotFound otherwise); the read is audited."""
    record = patient_page.read(staff, patient_id, view=VIEW)
    gad7 = db.session.scalar(
        sa.select(CheckIn)
        .where(CheckIn.patient_id == record.patient.id, CheckIn.instrument == GAD7.name)
        .order_by(*NEWEST_FIRST)
        .limit(1)
    )
    follow_up = db.session.scalar(
        sa.select(Alert)
        .where(Alert.patient_id == record.patient.id, Alert.kind == "safety", Alert.status == "resolved")
        .order_by(Alert.resolved_at.desc(), Alert.id.desc())
        .limit(1)
    )
    now = clock.now()
    return PrintSummary(
        record,
        gad7,
        course_of(record.infusions, now),
        now,
        last_follow_up=follow_up,
        medicines=current_medicines(record.medicines.rows),
        latest_bp=latest_bp(record.infusions),
    )
