"""The clinic outcomes report: response and remission after induction (CLINICAL.md §4), boosters after it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions
from factories import Factory
from flask.testing import FlaskClient

from tracker.extensions import db
from tracker.models import AuditEvent, PhaseChange
from tracker.relapse import CheckInPoint
from tracker.services.clinic.outcomes_report import (
    Course,
    PatientOutcome,
    assess,
    clinic_report,
    induction_end,
    summarise,
)

START = TEST_NOW - timedelta(days=200)
SERIES = [START + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11)]
END = SERIES[-1]


def day(offset: float) -> datetime:
    """A moment `offset` days after the end of the induction series."""
    return END + timedelta(days=offset)


def points(*pairs: tuple[datetime, int]) -> list[CheckInPoint]:
    return [CheckInPoint(f"c{n}", at, total) for n, (at, total) in enumerate(pairs)]


def course(checkins: list[CheckInPoint], boosters: tuple[datetime, ...] = (), **kwargs: Any) -> Course:
    values: dict[str, Any] = {"induction_given": SERIES, "maintenance_given": [], "phase": "as_needed", **kwargs}
    return Course(checkins=checkins, boosters_given=list(boosters), **values)


BASELINE = (START - timedelta(days=1), 20)


def test_the_first_checkin_7_to_28_days_after_induction_is_the_one_judged() -> None:
    checkins = points(BASELINE, (day(6.9), 2), (day(7), 10), (day(8), 3))
    result = assess(course(checkins), TEST_NOW)
    assert (result.induction_end, result.baseline, result.after_induction) == (END, 20, 10)
    assert result.response is True  # 10 is half of 20: CLINICAL.md §4 "at most 50%"
    assert result.remission is False  # not below 5


@pytest.mark.parametrize(
    ("offset", "counted"),
    [(7 - 1 / 86400, False), (7, True), (28, True), (28 + 1 / 86400, False)],
)
def test_the_after_induction_window_is_7_to_28_days_inclusive(offset: float, counted: bool) -> None:
    result = assess(course(points(BASELINE, (day(offset), 4))), TEST_NOW)
    assert (result.after_induction == 4) is counted
    assert result.remission is (True if counted else None)


def test_response_and_remission_follow_clinical_section_4() -> None:
    def judged(baseline: int, after: int) -> tuple[bool | None, bool | None]:
        result = assess(course(points((BASELINE[0], baseline), (day(10), after))), TEST_NOW)
        return result.response, result.remission

    assert judged(21, 10) == (True, False)
    assert judged(21, 11) == (False, False)
    assert judged(8, 4) == (True, True)
    assert judged(20, 5) == (True, False)  # remission is below 5, not 5
    assert judged(0, 0) == (None, True)  # from a baseline of 0 nothing can halve


def test_without_a_baseline_nothing_is_judged() -> None:
    result = assess(course(points((START + timedelta(days=1), 20), (day(10), 3))), TEST_NOW)
    assert (result.baseline, result.after_induction, result.response, result.remission) == (None, 3, None, None)


def test_induction_ends_at_the_last_induction_infusion_before_any_other_kind() -> None:
    second_series = [day(60), day(62)]
    assert induction_end(course([], boosters=(day(30),), induction_given=[*SERIES, *second_series])) == END
    assert induction_end(course([], maintenance_given=[day(7)])) == END
    assert induction_end(course([], phase="induction")) is None  # still in the series, nothing after it yet
    assert induction_end(course([], phase="discharged")) == END
    assert induction_end(course([], induction_given=[])) is None
    assert induction_end(course([], phase="induction", maintenance_given=[day(3)])) == END  # back for a 2nd series


def test_boosters_after_induction_and_follow_up_until_now_or_discharge() -> None:
    result = assess(course([], boosters=(day(20), day(50), day(80))), now=day(100))
    assert (result.days_to_first_booster, result.boosters, result.follow_up_days) == (20, 3, 100)
    discharged = assess(course([], boosters=(day(20), day(80)), discharged_at=day(60)), now=day(100))
    assert (discharged.boosters, discharged.follow_up_days) == (1, 60)


def test_a_patient_still_in_induction_counts_for_nothing_but_the_headcount() -> None:
    assert assess(course([], phase="induction"), TEST_NOW) == PatientOutcome(None, None, None, None, None, None, 0, 0)


def _outcome(
    response: bool | None, remission: bool | None, first: float | None, boosters: int, days: float
) -> PatientOutcome:
    return PatientOutcome(END, 10, 5, response, remission, first, boosters, days)


def test_the_summary_counts_medians_and_rates() -> None:
    outcomes = [
        _outcome(True, True, 10, 2, 365.25),
        _outcome(False, False, 20, 1, 365.25 / 2),
        _outcome(None, True, 40, 3, 365.25 / 2),  # baseline 0: remission counted, response not
        _outcome(None, None, None, 0, 365.25),  # no after-induction check-in
        PatientOutcome(None, None, None, None, None, None, 0, 0),  # still in induction
    ]
    report = summarise(outcomes, patients=5, now=TEST_NOW)
    assert (report.patients, report.past_induction, report.evaluable, report.response_evaluable) == (5, 4, 3, 2)
    assert (report.responders, report.remitters) == (1, 2)
    assert [(b.label, b.percent, b.text) for b in report.outcome_bars] == [
        ("Response", 50, "50%"),
        ("Remission", 67, "67%"),
    ]
    assert (report.with_booster, report.median_days_to_first_booster) == (3, 20)
    assert (report.boosters, report.patient_years) == (6, 3.0)
    assert report.boosters_per_patient_year == 2.0
    assert [(b.label, b.value) for b in report.booster_buckets] == [
        ("under 2 weeks", 1),
        ("2–4 weeks", 1),
        ("4–8 weeks", 1),
        ("8–12 weeks", 0),
        ("12+ weeks", 0),
    ]


def test_an_empty_clinic_has_a_report_with_nothing_to_measure() -> None:
    report = summarise([], patients=0, now=TEST_NOW)
    assert report.median_days_to_first_booster is None
    assert report.boosters_per_patient_year is None
    assert [b.text for b in report.outcome_bars] == ["–", "–"]


def _treated(factory: Factory, clinic: Any, baseline: int, after: int, booster_day: float | None) -> Any:
    patient = factory.patient(clinic)
    factory.checkin(patient, total=baseline, taken_at=START - timedelta(days=1))
    for given_at in SERIES:
        factory.infusion(patient, "induction", given_at=given_at)
    factory.checkin(patient, total=after, taken_at=day(10))
    if booster_day is not None:
        factory.infusion(patient, "booster", given_at=day(booster_day))
    return patient


def test_the_clinic_report_reads_the_clinics_own_patients(
    ctx: None, factory: Factory, count_queries: Callable[[], Any]
) -> None:
    clinic = factory.clinic()
    staff = factory.user(clinic)
    _treated(factory, clinic, baseline=20, after=4, booster_day=30)  # response and remission
    _treated(factory, clinic, baseline=20, after=12, booster_day=10)  # neither
    factory.patient(clinic, phase="induction")  # not past induction
    _treated(factory, factory.clinic(), baseline=20, after=2, booster_day=1)  # another clinic's: never counted

    with count_queries() as counter:
        report = clinic_report(staff)
    assert counter.count == 6  # patients, PHQ-9s, infusions, discharges, GAD-7s, blood pressures

    assert (report.patients, report.past_induction, report.evaluable) == (3, 2, 2)
    assert (report.responders, report.remitters, report.with_booster) == (1, 1, 2)
    assert report.median_days_to_first_booster == 20
    follow_up = 2 * (TEST_NOW - END) / timedelta(days=1) / 365.25
    assert report.patient_years == pytest.approx(follow_up)
    assert report.boosters_per_patient_year == pytest.approx(2 / follow_up)

    for _ in range(3):
        _treated(factory, clinic, baseline=15, after=7, booster_day=None)
    with count_queries() as counter:
        assert clinic_report(staff).patients == 6
    assert counter.count == 6


def test_follow_up_of_a_discharged_patient_ends_at_discharge(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic()
    staff = factory.user(clinic)
    patient = _treated(factory, clinic, baseline=20, after=4, booster_day=None)
    patient.phase = "discharged"
    db.session.add(
        PhaseChange(patient_id=patient.id, from_phase="as_needed", to_phase="discharged", changed_at=day(73.05))
    )
    db.session.flush()
    assert clinic_report(staff).patient_years == pytest.approx(0.2)


def test_the_report_page_draws_its_chart_without_script_or_style_and_is_audited(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., Any]
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, email="doc@example.org")
    _treated(factory, clinic, baseline=20, after=4, booster_day=30)
    _treated(factory, clinic, baseline=20, after=12, booster_day=10)
    auth.login("doc@example.org")

    response = client.get("/exports/outcomes")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # CLINICAL.md §4 (amended): the report also draws the Kaplan–Meier curve of time to first booster.
    assert html.count("<svg") == 3
    assert 'role="img"' in html
    assert "style=" not in html and "<script" not in html and "<style" not in html
    assert "1 of 2 (50%)" in html  # response, and remission, among the 2 measured
    # CLINICAL.md §4 (amended): the median is the Kaplan–Meier one (S falls to 0.5 at day 10), not the plain 20.
    assert '<td id="km-median">10.0' in html
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "export.outcomes_report"))
    assert (event.detail, event.clinic_id, event.patient_id) == ({"count": 2}, clinic.id, None)


def test_time_to_first_booster_is_a_kaplan_meier_estimate_with_the_others_censored() -> None:
    # CLINICAL.md §4: patients without a booster yet are censored at discharge or now, not left out.
    from tracker.services.clinic.outcomes_report import PatientOutcome, time_to_first_booster

    def outcome(first: float | None, follow_up: float) -> PatientOutcome:
        return PatientOutcome(day(0), 20, 8, True, False, first, 1 if first else 0, follow_up)

    km = time_to_first_booster([outcome(10, 100), outcome(30, 100), outcome(None, 20), outcome(None, 200)])
    assert (km.subjects, km.events, km.censored) == (4, 2, 2)
    # S(10) = 3/4; censored at 20; S(30) = 3/4 * (1 - 1/2) = 0.375: the median is 30 (a plain median says 20).
    assert [round(s.survival, 3) for s in km.steps if s.events] == [0.75, 0.375]
    assert km.median == 30


def test_a_second_induction_series_after_a_gap_leaves_the_first_courses_figures() -> None:
    # CLINICAL.md §4: a second series is a new course; the report's induction figures are the first course's.
    second = [END + timedelta(days=d) for d in (90, 92, 94)]
    checkins = points(BASELINE, (day(20), 4))
    alone = assess(course(checkins), TEST_NOW)
    again = assess(course(checkins, induction_given=[*SERIES, *second]), TEST_NOW)
    assert again.induction_end == alone.induction_end == END
    assert (again.baseline, again.after_induction, again.remission) == (alone.baseline, alone.after_induction, True)
