"""The clinic's outcomes report: response and remission after induction, and how soon and how often boosters follow.

Definitions (each also shown on the report page):

- Baseline: the last PHQ-9 before the first induction infusion given (CLINICAL.md §4, `outcomes.baseline_checkin`).
- End of induction: the last induction infusion of the first series, that is, given before the patient's first
  maintenance or booster infusion, and before a second series begun after a gap (`outcomes.course_starts`). A
  patient with no such later infusion has finished induction only once their phase has moved past it
  (maintenance, as needed or discharged); until then they are still in induction.
- "After induction": the first PHQ-9 taken from 7 to 28 days (inclusive) after the end of induction. PHQ-9 asks
  about the last 2 weeks, so a check-in from day 7 on mostly reflects the weeks after the series rather than the
  day after the last infusion; 4 weeks keeps it an assessment of induction, not of whatever came after.
- Response: that total at most 50% of baseline; remission: that total below 5 (CLINICAL.md §4). Counted among
  patients with both a baseline and an after-induction check-in; response needs a baseline above 0.
- Days to first booster: from the end of induction to the first booster infusion given after it. CLINICAL.md §4:
  a Kaplan–Meier estimate (`outcomes.kaplan_meier`), the patients without a booster yet censored at discharge or
  now; the median with its 95% interval (Greenwood), and how many were censored. (The plain median over those
  who have had one is kept for comparison only: it understates how long benefit lasts.)
- Boosters per patient-year: booster infusions given after the end of induction, over the follow-up time from
  the end of induction to now (or to discharge, for a discharged patient).
"""

from __future__ import annotations

import dataclasses
import statistics
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from tracker import clock
from tracker.extensions import db
from tracker.models import Infusion, Patient, PhaseChange, User
from tracker.outcomes import (
    REMISSION_BELOW,
    KaplanMeier,
    baseline_checkin,
    course_starts,
    is_response,
    kaplan_meier,
)
from tracker.relapse import CheckInPoint
from tracker.services import scope
from tracker.services.audit import trail as audit
from tracker.services.clinic.bp_outcomes import BpFigures
from tracker.services.clinic.bp_outcomes import figures as bp_figures
from tracker.services.clinic.gad7_outcomes import Gad7Figures
from tracker.services.clinic.gad7_outcomes import figures as gad7_figures
from tracker.services.course import relapse_inputs

AFTER_INDUCTION_FROM = timedelta(days=7)
AFTER_INDUCTION_TO = timedelta(days=28)
PAST_INDUCTION = frozenset({"maintenance", "as_needed", "discharged"})
DAYS_PER_YEAR = 365.25
# Weeks from the end of induction to the first booster, for the chart: [low, high) in days.
BOOSTER_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("under 2 weeks", 0, 14),
    ("2–4 weeks", 14, 28),
    ("4–8 weeks", 28, 56),
    ("8–12 weeks", 56, 84),
    ("12+ weeks", 84, float("inf")),
)


@dataclass(frozen=True)
class Course:
    """What the report needs of one patient: PHQ-9 totals, infusions given, phase and discharge."""

    checkins: Sequence[CheckInPoint]
    induction_given: Sequence[datetime]
    boosters_given: Sequence[datetime]
    maintenance_given: Sequence[datetime]
    phase: str
    discharged_at: datetime | None = None


@dataclass(frozen=True)
class PatientOutcome:
    induction_end: datetime | None
    baseline: int | None
    after_induction: int | None
    response: bool | None
    remission: bool | None
    days_to_first_booster: float | None
    boosters: int
    follow_up_days: float


def induction_end(course: Course) -> datetime | None:
    """When the first induction series ended, or None while it has not (see the module's docstring)."""
    later = [*course.boosters_given, *course.maintenance_given]
    # CLINICAL.md §4: a second induction series after a gap is a new course; the first course's figures stay.
    starts = course_starts(course.induction_given, later)
    first_later = min([*later, *starts[1:]], default=None)
    series = [t for t in course.induction_given if first_later is None or t < first_later]
    if not series or (first_later is None and course.phase not in PAST_INDUCTION):
        return None
    return max(series)


def assess(course: Course, now: datetime) -> PatientOutcome:
    """One patient's outcome under the report's definitions; pure."""
    end = induction_end(course)
    if end is None:
        return PatientOutcome(None, None, None, None, None, None, 0, 0.0)
    # CLINICAL.md §4: baseline is the last PHQ-9 before the first induction infusion.
    base = baseline_checkin(course.checkins, min(course.induction_given))
    after = sorted(
        (c for c in course.checkins if end + AFTER_INDUCTION_FROM <= c.taken_at <= end + AFTER_INDUCTION_TO),
        key=lambda c: (c.taken_at, c.stored, c.id),  # CLINICAL.md §5: the one order
    )
    assessed = after[0].total if after else None
    response = remission = None
    if base is not None and assessed is not None:
        response = is_response(assessed, base.total)  # CLINICAL.md §4: <= 50% of baseline; None from 0
        remission = assessed < REMISSION_BELOW  # CLINICAL.md §4: total below 5
    follow_end = course.discharged_at if course.discharged_at is not None and course.discharged_at > end else now
    boosters = sorted(t for t in course.boosters_given if end < t <= follow_end)
    first = (boosters[0] - end) / timedelta(days=1) if boosters else None
    follow_up = max((follow_end - end) / timedelta(days=1), 0.0)
    return PatientOutcome(
        end, base.total if base else None, assessed, response, remission, first, len(boosters), follow_up
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    share: float  # of the tallest bar (0–1), for the chart's height
    text: str  # what the chart writes above the bar
    percent: int | None = None  # of its denominator, where it has one


@dataclass(frozen=True)
class Report:
    as_of: datetime
    patients: int
    past_induction: int
    evaluable: int  # baseline and an after-induction check-in
    response_evaluable: int  # ... and a baseline above 0
    responders: int
    remitters: int
    with_booster: int
    median_days_to_first_booster: float | None
    boosters: int
    patient_years: float
    booster_buckets: list[Bar]
    # CLINICAL.md §4: time to first booster, from the end of induction, censored at discharge or now.
    time_to_booster: KaplanMeier
    # CLINICAL.md §6's end, §7: the GAD-7's response and remission, where the clinic collects it.
    gad7: Gad7Figures | None = None
    # CLINICAL.md §7: the share of given infusions with a caution or a hold blood pressure.
    blood_pressure: BpFigures | None = None

    @property
    def boosters_per_patient_year(self) -> float | None:
        return self.boosters / self.patient_years if self.patient_years > 0 else None

    @property
    def outcome_bars(self) -> list[Bar]:
        """Response and remission as percentages of the patients they were measured in."""
        bars = []
        for label, count, denominator in (
            ("Response", self.responders, self.response_evaluable),
            ("Remission", self.remitters, self.evaluable),
        ):
            percent = round(100 * count / denominator) if denominator else None
            text = f"{percent}%" if percent is not None else "–"
            bars.append(Bar(label, count, (percent or 0) / 100, text, percent))
        return bars


def summarise(outcomes: Sequence[PatientOutcome], patients: int, now: datetime) -> Report:
    """Add up the patients' outcomes; pure."""
    past = [o for o in outcomes if o.induction_end is not None]
    evaluable = [o for o in past if o.remission is not None]
    days = [o.days_to_first_booster for o in past if o.days_to_first_booster is not None]
    counts = [sum(1 for d in days if low <= d < high) for _label, low, high in BOOSTER_BUCKETS]
    tallest = max(counts, default=0)
    buckets = [
        Bar(label, count, count / tallest if tallest else 0.0, str(count))
        for (label, _low, _high), count in zip(BOOSTER_BUCKETS, counts, strict=True)
    ]
    return Report(
        as_of=now,
        patients=patients,
        past_induction=len(past),
        evaluable=len(evaluable),
        response_evaluable=sum(1 for o in evaluable if o.response is not None),
        responders=sum(1 for o in evaluable if o.response),
        remitters=sum(1 for o in evaluable if o.remission),
        with_booster=len(days),
        median_days_to_first_booster=statistics.median(days) if days else None,
        boosters=sum(o.boosters for o in past),
        patient_years=sum(o.follow_up_days for o in past) / DAYS_PER_YEAR,
        booster_buckets=buckets,
        time_to_booster=time_to_first_booster(past),
    )


def time_to_first_booster(past: Sequence[PatientOutcome]) -> KaplanMeier:
    """CLINICAL.md §4: a Kaplan–Meier estimate; a patient with no booster yet is censored at discharge or now."""
    return kaplan_meier(
        [
            (o.days_to_first_booster, True) if o.days_to_first_booster is not None else (o.follow_up_days, False)
            for o in past
        ]
    )


def clinic_report(staff: User) -> Report:
    """The report for the staff member's clinic: a few queries, whatever the number of patients."""
    now = clock.now()
    patient_rows = db.session.execute(scope.staff_patients(staff).with_only_columns(Patient.id, Patient.phase))
    patients: dict[uuid.UUID, str] = dict(row._tuple() for row in patient_rows)
    checkins = relapse_inputs.phq9_points(scope.staff_patients(staff).with_only_columns(Patient.id))
    given: dict[tuple[uuid.UUID, str], list[datetime]] = defaultdict(list)
    infusion_rows = db.session.execute(
        scope.scoped_to_clinic(
            staff,
            sa.select(Infusion.patient_id, Infusion.kind, Infusion.given_at)
            .join(Patient, Patient.id == Infusion.patient_id)
            .where(Infusion.status == "given", Infusion.given_at.is_not(None)),
            Patient.clinic_id,
        )
    )
    for patient_id, kind, given_at in infusion_rows:
        given[(patient_id, kind)].append(given_at)
    # Follow-up ends at discharge: the latest move to "discharged" of those discharged now.
    discharge_rows = db.session.execute(
        scope.scoped_to_clinic(
            staff,
            sa.select(PhaseChange.patient_id, sa.func.max(PhaseChange.changed_at))
            .join(Patient, Patient.id == PhaseChange.patient_id)
            .where(PhaseChange.to_phase == "discharged", Patient.phase == "discharged")
            .group_by(PhaseChange.patient_id),
            Patient.clinic_id,
        )
    )
    discharged: dict[uuid.UUID, datetime] = dict(row._tuple() for row in discharge_rows)
    courses = {
        patient_id: Course(
            checkins=checkins[patient_id],
            induction_given=given[(patient_id, "induction")],
            boosters_given=given[(patient_id, "booster")],
            maintenance_given=given[(patient_id, "maintenance")],
            phase=phase,
            discharged_at=discharged.get(patient_id),
        )
        for patient_id, phase in patients.items()
    }
    outcomes = {patient_id: assess(course, now) for patient_id, course in courses.items()}
    report = summarise(list(outcomes.values()), len(patients), now)
    ends = {patient_id: outcome.induction_end for patient_id, outcome in outcomes.items()}
    firsts = {patient_id: min(c.induction_given) for patient_id, c in courses.items() if c.induction_given}
    return dataclasses.replace(
        report, gad7=gad7_figures(list(patients), ends, firsts), blood_pressure=bp_figures(staff)
    )


def report_for_staff(staff: User) -> Report:
    """The clinic's report (see clinic_report), the read written to the audit log (export.outcomes_report)."""
    report = clinic_report(staff)
    audit.record(
        staff,
        "export.outcomes_report",
        target_type="clinic",
        target_id=staff.clinic_id,
        detail={"count": report.patients},
    )
    return report
