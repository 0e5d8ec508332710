"""Instruments on a schedule through the services and jobs (CLINICAL.md §7, fourth bullet): the clinic's
setting, what is due, one reminder text for all that are due, missed check-ins per instrument, the relapse
rule unmoved by the GAD-7 (§5), and the GAD-7 outcome figures (§4, §6's end)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from factories import Factory

from tracker.clock import FrozenClock
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.jobs.registry import JobResult, load_jobs
from tracker.models import Alert, AuditEvent, BoosterRequest, CheckIn, Clinic, OutboundMessage, Patient
from tracker.services.checkins import due as checkins_due
from tracker.services.checkins import submit as checkins
from tracker.services.clinic import settings as clinic_settings
from tracker.services.clinic.outcomes_report import clinic_report
from tracker.services.course import writes as course

# The clinic's default reminder slot: Monday 10:00 in Chicago, 2026-11-23 16:00 UTC.
MONDAY_10_CHICAGO = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
GAD7_MONTHLY = {"maintenance": {"phq9": "weekly", "gad7": "monthly"}}
ONCALL = "+13125550100"


def run(job: str, clock: FrozenClock, at: datetime | None = None) -> JobResult:
    if at is not None:
        clock.set(at)
    return load_jobs()[job].run(db.session, clock())


def outbox(patient: Patient) -> list[OutboundMessage]:
    query = sa.select(OutboundMessage).where(OutboundMessage.patient_id == patient.id)
    return list(db.session.scalars(query.order_by(OutboundMessage.created_at)))


def alerts_of(patient: Patient) -> list[Alert]:
    query = sa.select(Alert).where(Alert.patient_id == patient.id).order_by(Alert.raised_at, Alert.reason)
    return list(db.session.scalars(query))


def checkin(factory: Factory, patient: Patient, instrument: str, at: datetime, total: int = 3) -> None:
    factory.checkin(patient, total=total, taken_at=at, instrument=instrument)


# --- the clinic's setting --------------------------------------------------------------------------------------


def test_an_admin_sets_the_schedule_and_the_change_is_audited(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic(oncall_phone=ONCALL)
    admin = factory.user(clinic, role="admin")
    clinic_settings.update(admin, clinic, {"instrument_schedule": {"maintenance": {"gad7": "monthly"}}})
    db.session.flush()
    assert clinic.instrument_schedule is not None
    assert clinic.instrument_schedule["maintenance"] == {"phq9": "weekly", "gad7": "monthly"}
    assert clinic.instrument_schedule["induction"] == {"phq9": "weekly", "gad7": "off"}
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "settings.change"))
    assert event.detail["before"]["instrument_schedule"]["maintenance"]["gad7"] == "off"
    assert event.detail["after"]["instrument_schedule"]["maintenance"]["gad7"] == "monthly"


@pytest.mark.parametrize("phase", ["induction", "maintenance", "as_needed"])
def test_phq9_cannot_be_turned_off_in_any_active_phase(ctx: None, factory: Factory, phase: str) -> None:
    clinic = factory.clinic()
    admin = factory.user(clinic, role="admin")
    with pytest.raises(Invalid) as raised:
        clinic_settings.update(admin, clinic, {"instrument_schedule": {phase: {"phq9": "off", "gad7": "weekly"}}})
    [problem] = raised.value.problems
    assert problem.field == f"instrument_schedule.{phase}.phq9"
    assert "relapse rule reads only PHQ-9" in problem.message
    assert clinic.instrument_schedule is None  # nothing changed


# --- what is due ------------------------------------------------------------------------------------------------


def test_what_is_due_follows_the_phase_and_each_instruments_last_checkin(
    ctx: None, factory: Factory, clock: FrozenClock
) -> None:
    clinic = factory.clinic(instrument_schedule=GAD7_MONTHLY)
    patient = factory.patient(clinic, phase="maintenance")
    clock.set(MONDAY_10_CHICAGO)
    assert checkins_due.due_for(patient) == ["phq9", "gad7"]
    checkin(factory, patient, "phq9", MONDAY_10_CHICAGO - timedelta(days=1))
    assert checkins_due.due_for(patient) == ["gad7"]
    checkin(factory, patient, "gad7", MONDAY_10_CHICAGO - timedelta(hours=1))
    assert checkins_due.due_for(patient) == []
    assert checkins_due.asks_after(patient, "phq9") is None
    clock.set(MONDAY_10_CHICAGO + timedelta(days=28))
    assert checkins_due.due_for(patient) == ["phq9", "gad7"]
    assert checkins_due.asks_after(patient, "phq9") == "gad7"
    as_needed = factory.patient(clinic, phase="as_needed")  # GAD-7 is off in as-needed
    assert checkins_due.due_for(as_needed) == ["phq9"]


# --- reminders --------------------------------------------------------------------------------------------------


def test_a_patient_due_for_both_gets_one_reminder_text(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    clinic = factory.clinic(name="Lakeside Wellness", instrument_schedule=GAD7_MONTHLY)
    patient = factory.patient(clinic, phase="maintenance")
    assert checkins_due.due_for(patient, MONDAY_10_CHICAGO) == ["phq9", "gad7"]

    for minutes in range(0, 120, 5):
        run("reminders", clock, MONDAY_10_CHICAGO + timedelta(minutes=minutes))

    [text] = outbox(patient)
    assert text.purpose == "reminder_weekly"
    assert "GAD" not in text.body and "PHQ" not in text.body  # no instrument names, no PHI


def _two_weekly_clinic(factory: Factory, gad7: str) -> Clinic:
    return factory.clinic(instrument_schedule={"maintenance": {"phq9": "every_2_weeks", "gad7": gad7}})


def test_a_phq9_every_two_weeks_skips_the_week_between(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    patient = factory.patient(_two_weekly_clinic(factory, "off"), phase="maintenance")
    checkin(factory, patient, "phq9", MONDAY_10_CHICAGO - timedelta(days=7))

    assert run("reminders", clock, MONDAY_10_CHICAGO).counts == {"checked": 1}
    assert run("reminders", clock, MONDAY_10_CHICAGO + timedelta(days=7)).counts == {
        "checked": 1,
        "queued_weekly": 1,
    }


def test_a_gad7_due_alone_brings_the_weekly_reminder(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    due = factory.patient(_two_weekly_clinic(factory, "monthly"), phase="maintenance")
    not_due = factory.patient(_two_weekly_clinic(factory, "monthly"), phase="maintenance")
    for patient, gad7_days_ago in ((due, 28), (not_due, 7)):
        checkin(factory, patient, "phq9", MONDAY_10_CHICAGO - timedelta(days=7))  # PHQ-9 not due this week
        checkin(factory, patient, "gad7", MONDAY_10_CHICAGO - timedelta(days=gad7_days_ago))

    run("reminders", clock, MONDAY_10_CHICAGO)

    assert [m.purpose for m in outbox(due)] == ["reminder_weekly"]
    assert outbox(not_due) == []


# --- missed check-ins, per instrument ---------------------------------------------------------------------------

# Saturday 2026-11-21 09:00 in Chicago, outside quiet hours.
SATURDAY_9_CHICAGO = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)


def _long_enrolled(factory: Factory, clock: FrozenClock, clinic: Clinic, **fields: Any) -> Patient:
    clock.set(SATURDAY_9_CHICAGO - timedelta(days=90))
    patient = factory.patient(clinic, phase="maintenance", created_at=clock(), **fields)
    clock.set(SATURDAY_9_CHICAGO)
    return patient


def test_a_missed_gad7_is_nudged_and_alerted_by_name_after_its_own_interval(
    ctx: None, factory: Factory, clock: FrozenClock
) -> None:
    clinic = factory.clinic(instrument_schedule=GAD7_MONTHLY)
    patient = _long_enrolled(factory, clock, clinic)
    checkin(factory, patient, "phq9", SATURDAY_9_CHICAGO - timedelta(days=1))  # PHQ-9 on time
    checkin(factory, patient, "gad7", SATURDAY_9_CHICAGO - timedelta(days=29))

    # 29 days: past 28 + no grace? The clinic's grace is 2 days: no nudge yet.
    assert "nudged" not in run("missed-checkins", clock).counts
    clock.set(SATURDAY_9_CHICAGO + timedelta(days=1))  # 30 days = 28 + 2
    assert run("missed-checkins", clock).counts.get("nudged") == 1
    [nudge] = outbox(patient)
    assert nudge.dedupe_key is not None and nudge.dedupe_key.startswith(f"missed-checkin:gad7:{patient.id}:")
    assert alerts_of(patient) == []  # the limit is 21 days for a weekly one, 42 for every 4 weeks

    clock.set(SATURDAY_9_CHICAGO + timedelta(days=13))  # 42 days
    run("missed-checkins", clock)
    [alert] = alerts_of(patient)
    assert (alert.cause, alert.reason) == (
        "missed_checkin",
        "No GAD-7 check-in for 42 days (the clinic's limit is 42).",
    )
    run("missed-checkins", clock)
    gad7_texts = [m for m in outbox(patient) if (m.dedupe_key or "").startswith("missed-checkin:gad7:")]
    assert len(alerts_of(patient)) == 1 and len(gad7_texts) == 1  # once per gap


def test_behind_on_both_one_nudge_a_run_and_an_alert_naming_each(
    ctx: None, factory: Factory, clock: FrozenClock
) -> None:
    clinic = factory.clinic(instrument_schedule=GAD7_MONTHLY)
    patient = _long_enrolled(factory, clock, clinic)
    checkin(factory, patient, "phq9", SATURDAY_9_CHICAGO - timedelta(days=50))
    checkin(factory, patient, "gad7", SATURDAY_9_CHICAGO - timedelta(days=50))

    result = run("missed-checkins", clock)

    assert result.counts["nudged"] == 1 and result.counts["alerted"] == 2
    assert len(outbox(patient)) == 1
    assert sorted(a.reason for a in alerts_of(patient)) == [
        "No GAD-7 check-in for 50 days (the clinic's limit is 42).",
        "No PHQ-9 check-in for 50 days (the clinic's limit is 21).",
    ]


def test_a_gad7_never_fills_a_phq9_gap(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    clinic = factory.clinic(instrument_schedule=GAD7_MONTHLY)
    patient = _long_enrolled(factory, clock, clinic)
    checkin(factory, patient, "phq9", SATURDAY_9_CHICAGO - timedelta(days=25))
    checkin(factory, patient, "gad7", SATURDAY_9_CHICAGO - timedelta(days=1))
    run("missed-checkins", clock)
    [alert] = alerts_of(patient)
    assert alert.reason.startswith("No PHQ-9 check-in for 25 days")


# --- the relapse rule stays PHQ-9 only (CLINICAL.md §5) ---------------------------------------------------------


def _course(factory: Factory, clock: FrozenClock, with_gad7: bool) -> list[BoosterRequest]:
    """Day 0 an infusion, day 1 a low PHQ-9, days 10 and 15 a pair of signals; with GAD-7s around and between
    them, low (that would break the pair if it counted) and severe (that would trigger if it counted)."""
    start = clock()
    clinic = factory.clinic(oncall_phone=ONCALL, instrument_schedule=GAD7_MONTHLY)
    patient = factory.patient(clinic, phase="maintenance", changed_at=start)

    def at(day: float) -> datetime:
        return clock.set(start + timedelta(days=day)) or clock()

    course.record_infusion(patient, kind="maintenance", status="given", by=None, given_at=at(0))
    db.session.commit()
    plan: list[tuple[float, str, list[int]]] = [
        (1, "phq9", [1, 1, 1, 0, 0, 0, 0, 0, 0]),
        (10, "phq9", [2, 2, 2, 2, 2, 1, 1, 0, 0]),
        (15, "phq9", [2, 2, 2, 2, 2, 2, 1, 0, 0]),
    ]
    if with_gad7:
        plan += [(2, "gad7", [3] * 7), (12, "gad7", [0] * 7), (14, "gad7", [3] * 7)]
    for day, instrument, answers in sorted(plan):
        at(day)
        checkins.submit(patient, instrument, answers, None, "app")
        db.session.commit()
        load_jobs()["relapse-scan"].run(db.session, clock.advance(minutes=5))
    return list(db.session.scalars(sa.select(BoosterRequest).where(BoosterRequest.patient_id == patient.id)))


def test_gad7_checkins_do_not_change_the_scans_decision(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    start = clock()
    [without] = _course(factory, clock, with_gad7=False)
    clock.set(start)
    [with_gad7] = _course(factory, clock, with_gad7=True)

    def shape(request: BoosterRequest) -> tuple[Any, ...]:
        ids = [e.checkin_id for e in request.evidence]
        instruments = sorted(db.session.scalars(sa.select(CheckIn.instrument).where(CheckIn.id.in_(ids))))
        return (request.status, request.urgency, request.raised_by, instruments)

    assert shape(with_gad7) == shape(without) == ("open", "routine", "scan", ["phq9", "phq9"])


# --- GAD-7 outcomes ---------------------------------------------------------------------------------------------


def test_the_outcomes_report_gives_gad7_response_and_remission_by_baseline_band(
    ctx: None, factory: Factory, clock: FrozenClock
) -> None:
    clinic = factory.clinic()
    staff = factory.user(clinic)
    now = clock()
    first = now - timedelta(days=60)
    for baseline, latest in ((16, 6), (12, 3), (8, 7)):  # severe: response; moderate: both; mild: neither
        patient = factory.patient(clinic, phase="maintenance")
        checkin(factory, patient, "gad7", first - timedelta(days=2), baseline)
        checkin(factory, patient, "gad7", first + timedelta(days=20), 18)  # after induction, not the latest
        checkin(factory, patient, "gad7", first + timedelta(days=40), latest)
        for day in range(0, 12, 2):
            factory.infusion(patient, "induction", given_at=first + timedelta(days=day))
    no_baseline = factory.patient(clinic, phase="maintenance")
    factory.infusion(no_baseline, "induction", given_at=first)
    checkin(factory, no_baseline, "gad7", first + timedelta(days=30), 2)

    g = clinic_report(staff).gad7

    assert g is not None
    assert (g.collected, g.evaluable, g.responders, g.remitters) == (4, 3, 2, 1)
    assert {b.band: (b.evaluable, b.responders, b.remitters) for b in g.bands} == {
        "none-minimal": (0, 0, 0),
        "mild": (1, 0, 0),
        "moderate": (1, 1, 1),
        "severe": (1, 1, 0),
    }
    assert (g.response_percent, g.remission_percent) == (67, 33)
