"""The relapse rule's edges at the level they live (CLINICAL.md §5): the course, the scan, the jobs, the reminders."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from factories import Factory
from test_job_relapse_scan import Course, answers_for

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs import reminders as reminders_job
from tracker.jobs.registry import load_jobs
from tracker.models import Alert, BoosterRequest, Infusion, PhaseChange
from tracker.reminders import ClinicDefaults, PatientState, due_reminder
from tracker.services.boosters import booking
from tracker.services.boosters import queries as booster_queries
from tracker.services.checkins import submit as checkins
from tracker.services.clinic import attention
from tracker.services.course import writes as course

CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def patient_course(ctx: None, factory: Factory, clock: FrozenClock) -> Course:
    """A maintenance patient with an infusion on day 0 and a low first check-in on day 1 (the reference low)."""
    course_ = Course(factory, clock)
    course_.infusion(0)
    course_.checkin(1, 3)
    return course_


# --- screening -> induction ----------------------------------------------------------------------------------


def test_the_first_induction_infusion_moves_screening_to_induction_in_the_history(
    ctx: None, factory: Factory, clock: FrozenClock
) -> None:
    patient = factory.patient(factory.clinic(), phase="screening")
    result = course.record_infusion(patient, kind="induction", status="given", by=None)
    assert patient.phase == "induction"
    assert result.phase_change is not None and result.phase_change.to_phase == "induction"
    history = db.session.scalars(
        sa.select(PhaseChange).where(PhaseChange.patient_id == patient.id).order_by(PhaseChange.changed_at)
    ).all()
    assert [(row.from_phase, row.to_phase) for row in history][-1] == ("screening", "induction")
    # The clinic's Nth induction infusion then ends induction as before.
    for _ in range(5):
        clock.advance(days=2)
        course.record_infusion(patient, kind="induction", status="given", by=None)
    assert patient.phase == "as_needed"


def test_a_booster_given_in_screening_does_not_start_induction(ctx: None, factory: Factory) -> None:
    patient = factory.patient(factory.clinic(), phase="screening")
    course.record_infusion(patient, kind="maintenance", status="given", by=None)
    assert patient.phase == "screening"


# --- PHQ-9 only in the reminders' cadence --------------------------------------------------------------------


def test_a_gad7_does_not_stand_in_for_a_phq9_in_the_reminders(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    patient = factory.patient(factory.clinic(), phase="maintenance")
    factory.checkin(patient, answers=[1] * 7, instrument="gad7", taken_at=clock() - timedelta(hours=1))
    assert reminders_job.last_checkins(db.session, [patient.id], clock()) == {}
    phq = factory.checkin(patient, total=4, taken_at=clock() - timedelta(hours=2))
    assert reminders_job.last_checkins(db.session, [patient.id], clock()) == {patient.id: phq.taken_at}


# --- severe without a trigger ----------------------------------------------------------------------------------


def test_a_severe_first_check_in_opens_a_severe_symptoms_alert_once_per_window(patient_course: Course) -> None:
    c = patient_course
    c.infusion(2)  # a new window: the day-1 low no longer counts
    c.checkin(3, 22)
    assert "severe_alerted" in c.scan().counts
    c.checkin(4, 23)  # not risen 5 above 22: still no trigger
    assert "severe_alerted" not in c.scan().counts
    [alert] = c.alerts()
    assert (alert.kind, alert.cause) == ("attention", "severe_symptoms")
    assert c.requests() == []
    c.infusion(6)
    c.checkin(7, 24)
    assert "severe_alerted" in c.scan().counts  # a new window, a new alert
    assert [a.cause for a in c.alerts()] == ["severe_symptoms", "severe_symptoms"]


def test_a_severe_check_in_without_a_trigger_joins_an_open_request_and_makes_it_urgent(
    patient_course: Course,
) -> None:
    c = patient_course
    c.checkin(10, 18)
    c.checkin(15, 19)
    c.scan()
    [request] = c.requests()
    assert request.urgency == "routine"
    c.checkin(16, 21)  # low 3: rise 18, an urgent trigger; the next one is severe but no signal
    c.checkin(17, 20)
    c.scan()
    db.session.refresh(request)
    assert request.urgency == "urgent" and c.evidence_days(request) == [10, 15, 16, 17]


# --- what a decision saw: stored before it ---------------------------------------------------------------------


def test_a_check_in_entered_after_a_decline_is_new_evidence_even_when_taken_before_it(
    patient_course: Course, factory: Factory
) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.checkin(15, 13)
    c.scan()
    c.decline(16)
    assert c.scan().counts.get("raised_routine") is None
    # Day 18: a clinician enters a check-in taken on day 15.5 (paper, in clinic); with day 20's it closes a pair
    # that the decline on day 16 never saw... its pair partner (day 15.5) was stored on day 18.
    c.clock.set(c.at(18))
    staff = factory.staff_for(c.patient)
    back = checkins.submit(c.patient, "phq9", answers_for(14), None, "clinic", taken_at=c.at(15.5), entered_by=staff)
    db.session.commit()
    c.checkin(21, 15)
    result = c.scan()
    assert result.counts.get("raised_routine") == 1
    request = c.requests()[-1]
    assert back.checkin.id in {e.checkin_id for e in request.evidence}


# --- completion by an infusion given after the latest evidence -----------------------------------------------


def test_an_infusion_given_after_the_latest_evidence_completes_the_request_however_late_recorded(
    patient_course: Course,
) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.checkin(15, 13)
    c.clock.set(c.at(15.01))
    c.scan()
    [request] = c.requests()
    # Given on day 15.2, before... no: after the latest evidence (day 15), recorded on day 20.
    c.clock.set(c.at(20))
    given_at = c.at(15) + timedelta(hours=1)
    assert given_at < request.raised_at + timedelta(hours=1)
    result = course.record_infusion(c.patient, kind="booster", status="given", by=None, given_at=given_at)
    db.session.commit()
    assert result.completed_request is not None and result.completed_request.id == request.id


def test_an_infusion_given_before_the_latest_evidence_does_not_complete_it(patient_course: Course) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.checkin(15, 13)
    c.scan()
    c.clock.set(c.at(20))
    result = course.record_infusion(c.patient, kind="booster", status="given", by=None, given_at=c.at(14))
    assert result.completed_request is None


# --- discharge --------------------------------------------------------------------------------------------------


def test_discharge_cancels_the_open_request(patient_course: Course, factory: Factory) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.checkin(15, 13)
    c.scan()
    [request] = c.requests()
    course.change_phase(c.patient, "discharged", factory.staff_for(c.patient), "Course complete.")
    db.session.commit()
    db.session.refresh(request)
    assert (request.status, request.reason) == ("cancelled", "discharged")
    assert booster_queries.open_request_for(c.patient.id) is None


def test_discharge_by_the_system_cancels_too(patient_course: Course) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.checkin(15, 13)
    c.scan()
    course.change_phase(c.patient, "discharged", None, "Moved away.")
    [request] = c.requests()
    assert (request.status, request.reason, request.decided_by_id) == ("cancelled", "discharged", None)


# --- a booked visit 24 h past with nothing recorded -----------------------------------------------------------


def test_a_booked_booster_24_hours_past_opens_one_attention_alert(patient_course: Course, factory: Factory) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.checkin(15, 13)
    c.scan()
    [request] = c.requests()
    staff = factory.staff_for(c.patient)
    booking.schedule(request, staff, c.at(17))
    db.session.commit()
    job = load_jobs()["booked-visits"]
    assert job.run(db.session, c.at(17) + timedelta(hours=23)).counts == {}
    assert job.run(db.session, c.at(18)).counts == {"alerted": 1}
    assert job.run(db.session, c.at(19)).counts == {}  # once
    [alert] = [a for a in c.alerts() if a.cause == "booked_visit_unrecorded"]
    assert alert.kind == "attention" and alert.reason.startswith("Booked visit not recorded")
    # The queue shows it beside the request's own row (an alert tied to the request would be folded into it).
    assert alert.booster_request_id is None
    items = attention.queue(staff, c.at(18))
    assert any(item.title == "Needs attention" and item.why == alert.reason for item in items)


def test_a_booked_booster_recorded_as_given_opens_nothing(patient_course: Course, factory: Factory) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.checkin(15, 13)
    c.scan()
    [request] = c.requests()
    booked = booking.schedule(request, factory.staff_for(c.patient), c.at(17)).infusion
    c.clock.set(c.at(17.1))
    course.update_infusion(booked, {"status": "given", "given_at": c.at(17)}, None)
    db.session.commit()
    assert load_jobs()["booked-visits"].run(db.session, c.at(19)).counts == {}
    assert db.session.get(Infusion, booked.id).status == "given"  # type: ignore[union-attr]
    assert db.session.get(BoosterRequest, request.id).status == "completed"  # type: ignore[union-attr]


def test_the_job_is_registered() -> None:
    assert "booked-visits" in load_jobs()


# --- a confirming reminder whose moment already passed ---------------------------------------------------------

DEFAULTS = ClinicDefaults(timezone="America/Chicago", reminder_weekday=0, reminder_local_time=time(10, 0))


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=CHICAGO).astimezone(UTC)  # type: ignore[arg-type,misc]


def test_a_confirming_reminder_whose_moment_passed_is_sent_at_the_next_allowed_time() -> None:
    due = local(2026, 11, 20, 12, 0)  # a Friday; the scan saw the signal only on the 24th (back-dated)
    state = PatientState(
        "p1",
        "maintenance",
        "America/Chicago",
        confirm_checkin_due_at=due,
        confirm_checkin_until=due + timedelta(days=10),
    )
    assert due_reminder(state, DEFAULTS, local(2026, 11, 24, 7, 0)) is None  # quiet hours
    reminder = due_reminder(state, DEFAULTS, local(2026, 11, 24, 8, 0))
    assert reminder is not None and reminder.kind == "confirming"
    # Asked once: a reminder sent since it was due says so.
    asked = replace(state, last_reminder_at=local(2026, 11, 24, 8, 0))
    assert due_reminder(asked, DEFAULTS, local(2026, 11, 25, 9, 0)) is None


def test_no_late_confirming_reminder_once_a_pair_can_no_longer_close() -> None:
    due = local(2026, 11, 10, 12, 0)
    state = PatientState(
        "p1",
        "maintenance",
        "America/Chicago",
        confirm_checkin_due_at=due,
        confirm_checkin_until=due + timedelta(days=10),
    )
    assert due_reminder(state, DEFAULTS, local(2026, 11, 24, 9, 0)) is None


def test_the_job_gives_the_rule_the_pair_deadline(patient_course: Course) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.scan()
    [candidate] = [
        cand
        for cand in reminders_job.candidates(db.session, reminders_job.eligible(db.session, None, 10), c.clock())
        if cand.patient_id == c.patient.id
    ]
    # First signal on day 10: due on day 15 (confirm_min_days), a pair can close until day 25 (confirm_max_days).
    assert candidate.state.confirm_checkin_due_at == c.at(15)
    assert candidate.state.confirm_checkin_until == c.at(25)


def test_alert_causes_include_the_new_ones() -> None:
    from tracker.models.alert import ALERT_CAUSES

    assert {"severe_symptoms", "booked_visit_unrecorded"} <= set(ALERT_CAUSES)
    assert Alert.__table__.c.cause.type.length >= len("booked_visit_unrecorded")  # type: ignore[attr-defined]


# --- settings that cannot disarm the net (issue 11 point 5) -----------------------------------------------------


def test_the_thresholds_are_checked_together(ctx: None, factory: Factory) -> None:
    from tracker.errors import Invalid
    from tracker.services.clinic import settings as clinic_settings

    clinic = factory.clinic(oncall_phone="+13125550100")
    admin = factory.user(clinic, role="admin")
    for changes, field in (
        ({"signal_min_total": 20}, "urgent_min_total"),  # urgent 20 is not above 20
        ({"urgent_min_total": 9}, "urgent_min_total"),
        ({"confirm_min_days": 15}, "confirm_max_days"),  # max 15 is not above 15
        ({"confirm_max_days": 61}, "confirm_max_days"),
        ({"signal_min_rise": 0}, "signal_min_rise"),
        ({"confirm_min_days": 0}, "confirm_min_days"),
    ):
        try:
            clinic_settings.update(admin, clinic, changes)
        except Invalid as error:
            assert [p.field for p in error.problems] == [field], changes
            assert all("_" not in p.message for p in error.problems)  # words, not internal names
        else:
            raise AssertionError(f"accepted {changes}")
    clinic_settings.update(admin, clinic, {"signal_min_total": 12, "urgent_min_total": 13, "confirm_max_days": 60})
    assert (clinic.signal_min_total, clinic.urgent_min_total, clinic.confirm_max_days) == (12, 13, 60)


def test_a_clinic_taking_patients_keeps_an_on_call_phone(ctx: None, factory: Factory) -> None:
    from tracker.errors import Invalid
    from tracker.services.clinic import settings as clinic_settings

    clinic = factory.clinic(oncall_phone="+13125550100")
    admin = factory.user(clinic, role="admin")
    clinic_settings.update(admin, clinic, {"oncall_phone": ""})  # no patients yet: allowed
    patient = factory.patient(clinic, phase="maintenance")
    try:
        clinic_settings.update(admin, clinic, {"name": "Renamed"})
    except Invalid as error:
        assert [p.field for p in error.problems] == ["oncall_phone"]
        assert "on-call phone" in error.problems[0].message
    else:
        raise AssertionError("a clinic with patients and no on-call phone was accepted")
    clinic_settings.update(admin, clinic, {"oncall_phone": "+13125550100", "name": "Renamed"})
    patient.phase = "discharged"
    db.session.flush()
    clinic_settings.update(admin, clinic, {"oncall_phone": None})  # nobody in its care: allowed again


def test_every_problem_is_shown_at_once(ctx: None, factory: Factory) -> None:
    from tracker.errors import Invalid
    from tracker.services.clinic import settings as clinic_settings

    clinic = factory.clinic()
    admin = factory.user(clinic, role="admin")
    factory.patient(clinic)
    try:
        clinic_settings.update(
            admin, clinic, {"signal_min_total": 40, "confirm_min_days": 10, "confirm_max_days": 5, "timezone": "x"}
        )
    except Invalid as error:
        assert {p.field for p in error.problems} == {"signal_min_total", "confirm_max_days", "timezone", "oncall_phone"}
    else:
        raise AssertionError("accepted")
