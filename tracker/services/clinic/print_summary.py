"""A patient's one-page summary for the paper chart: what a clinician files or hands over at a visit.

The record is the patient's page's own (patient_page.read, audited as a read with view "print summary"), so the
figures are the same ones: the outcome (CLINICAL.md §4), the open request's phrase (§5), the open alerts (§3).
Added here: the latest GAD-7, and the course in a few lines, so a year of infusions still fits on one page.
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
from tracker.models import CheckIn, Infusion, User
from tracker.services.checkins.queries import NEWEST_FIRST
from tracker.services.clinic import patient_page
from tracker.services.clinic.patient_page import PatientRecord

VIEW = "print summary"
# The latest infusions listed by line; the rest are counted (one page holds about this many rows).
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
class PrintSummary:
    record: PatientRecord
    latest_gad7: CheckIn | None
    course: Course
    printed_at: datetime


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
    now = clock.now()
    return PrintSummary(record, gad7, course_of(record.infusions, now), now)
