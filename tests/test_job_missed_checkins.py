"""The `missed-checkins` job: a nudge past the weekly cadence and grace days, then the clinic; once per gap."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from factories import Factory
from flask import Flask

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs import missed_checkins as job_module
from tracker.jobs.registry import JobResult, load_jobs
from tracker.models import Alert, CheckinLink, Clinic, OutboundMessage, Patient, PhaseChange
from tracker.services.course import writes as course
from tracker.services.messaging.outbox import queue_sms

# TEST_NOW, Saturday 2026-11-21 15:00 UTC, is 09:00 in Chicago: outside the clinic's quiet hours (21:00–08:00).
NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
NUDGE = re.compile(r"Lakeside Wellness: we have not had your check-in for a while\. Tap (\S+) or reply CHECKIN\.")
CLINIC = {"name": "Lakeside Wellness"}
pytestmark = pytest.mark.in_app_context  # conftest's clinic, clinician and patient are made in `ctx`


def run(clock: FrozenClock, at: datetime | None = None) -> JobResult:
    if at is not None:
        clock.set(at)
    return load_jobs()["missed-checkins"].run(db.session, clock())


def texts(patient: Patient) -> list[OutboundMessage]:
    query = sa.select(OutboundMessage).where(OutboundMessage.patient_id == patient.id)
    return list(db.session.scalars(query.order_by(OutboundMessage.created_at)))


def clinic_alerts(patient: Patient) -> list[Alert]:
    return list(db.session.scalars(sa.select(Alert).where(Alert.patient_id == patient.id)))


def hourly(clock: FrozenClock, start: datetime, hours: int) -> None:
    for hour in range(hours):
        run(clock, start + timedelta(hours=hour))


def enrol(factory: Factory, clock: FrozenClock, clinic: Clinic, phase: str = "maintenance", **fields: Any) -> Patient:
    """A patient who entered their phase 60 days before NOW (so only their check-ins decide the gap)."""
    clock.set(NOW - timedelta(days=60))
    patient = factory.patient(clinic, phase=phase, created_at=clock(), **fields)
    clock.set(NOW)
    return patient


@pytest.fixture
def enrolled(factory: Factory, clinic: Clinic, clock: FrozenClock) -> Callable[..., Patient]:
    def make(phase: str = "maintenance", **fields: Any) -> Patient:
        return enrol(factory, clock, clinic, phase, **fields)

    return make


def test_registered_hourly() -> None:
    assert load_jobs()["missed-checkins"].every == timedelta(hours=1)


def test_nudged_once_after_a_week_and_the_grace_days_then_the_clinic_after_21(
    factory: Factory, enrolled: Callable[..., Patient], clock: FrozenClock
) -> None:
    patient = enrolled()
    last = factory.checkin(patient, total=6, taken_at=NOW - timedelta(days=9))  # default grace: 2 days

    assert run(clock, NOW - timedelta(seconds=1)).counts == {"checked": 1}
    assert run(clock, NOW).counts == {"checked": 1, "nudged": 1}

    [text] = texts(patient)
    assert (text.to_phone, text.purpose, text.status) == (patient.phone, "reminder_missed_checkin", "queued")
    assert text.dedupe_key == f"missed-checkin:{patient.id}:checkin:{last.id}"
    match = NUDGE.fullmatch(text.body)
    assert match and match.group(1).startswith("http://127.0.0.1:5000/c/"), text.body
    assert len(db.session.scalars(sa.select(CheckinLink).where(CheckinLink.patient_id == patient.id)).all()) == 1

    hourly(clock, NOW + timedelta(hours=1), 12 * 24 - 1)  # every hour until day 21 begins
    assert len(texts(patient)) == 1 and clinic_alerts(patient) == []

    assert run(clock, NOW + timedelta(days=12)).counts == {"checked": 1, "alerted": 1}
    [alert] = clinic_alerts(patient)
    assert (alert.kind, alert.status) == ("attention", "open")
    assert alert.reason == "No PHQ-9 check-in for 21 days (the clinic's limit is 21)."
    assert alert.dedupe_key == f"missed-checkin-alert:{patient.id}:checkin:{last.id}"

    hourly(clock, NOW + timedelta(days=12, hours=1), 10 * 24)
    assert len(texts(patient)) == 1 and len(clinic_alerts(patient)) == 1


def test_a_new_check_in_starts_a_new_gap(
    factory: Factory, enrolled: Callable[..., Patient], clock: FrozenClock
) -> None:
    patient = enrolled()
    factory.checkin(patient, total=6, taken_at=NOW - timedelta(days=9))
    run(clock, NOW)
    fresh = factory.checkin(patient, total=5, taken_at=NOW + timedelta(days=1))

    assert run(clock, NOW + timedelta(days=10) - timedelta(minutes=1)).counts == {"checked": 1}
    assert run(clock, NOW + timedelta(days=10)).counts == {"checked": 1, "nudged": 1}
    assert [t.dedupe_key for t in texts(patient)][-1] == f"missed-checkin:{patient.id}:checkin:{fresh.id}"


def test_the_clinics_own_grace_and_limit(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    clinic = factory.clinic(missed_checkin_grace_days=0, missed_checkin_alert_days=8)
    patient = enrol(factory, clock, clinic, "as_needed")
    factory.checkin(patient, total=6, taken_at=NOW - timedelta(days=7))
    assert run(clock, NOW).counts == {"checked": 1, "nudged": 1}
    assert run(clock, NOW + timedelta(days=1)).counts == {"checked": 1, "alerted": 1}


@pytest.mark.parametrize("phase", ["screening", "induction", "discharged"])
def test_no_cadence_no_nudge(
    factory: Factory, enrolled: Callable[..., Patient], clock: FrozenClock, phase: str
) -> None:
    patient = enrolled(phase)
    factory.checkin(patient, total=6, taken_at=NOW - timedelta(days=50))
    assert run(clock, NOW).counts == {}
    assert texts(patient) == [] and clinic_alerts(patient) == []


def test_without_check_ins_the_gap_runs_from_entering_the_cadence(
    factory: Factory, clinic: Clinic, clock: FrozenClock
) -> None:
    clock.set(NOW - timedelta(days=9))
    patient = factory.patient(clinic, phase="maintenance", created_at=NOW - timedelta(days=40))
    [entered] = db.session.scalars(sa.select(PhaseChange).where(PhaseChange.patient_id == patient.id)).all()

    assert run(clock, NOW).counts == {"checked": 1, "nudged": 1}
    [text] = texts(patient)
    assert text.dedupe_key == f"missed-checkin:{patient.id}:phase:{entered.id}"


def test_with_no_phase_history_enrolment_names_the_gap(factory: Factory, clinic: Clinic, clock: FrozenClock) -> None:
    patient = factory.patient(clinic, phase="maintenance", created_at=NOW - timedelta(days=21))
    db.session.execute(sa.delete(PhaseChange).where(PhaseChange.patient_id == patient.id))
    db.session.commit()

    assert run(clock, NOW).counts == {"checked": 1, "nudged": 1, "alerted": 1}
    assert [t.dedupe_key for t in texts(patient)] == [f"missed-checkin:{patient.id}:enrolment"]
    assert [a.dedupe_key for a in clinic_alerts(patient)] == [f"missed-checkin-alert:{patient.id}:enrolment"]


def test_back_from_discharge_the_weekly_cadence_starts_afresh(
    factory: Factory, enrolled: Callable[..., Patient], clock: FrozenClock
) -> None:
    patient = enrolled("discharged")
    factory.checkin(patient, total=4, taken_at=NOW - timedelta(days=50))
    course.change_phase(patient, "as_needed", None, reason="Back for boosters as needed.")
    db.session.commit()

    assert run(clock, NOW).counts == {"checked": 1}  # not 50 days late: the cadence began today
    assert run(clock, NOW + timedelta(days=9)).counts == {"checked": 1, "nudged": 1}
    assert ":phase:" in (texts(patient)[0].dedupe_key or "")


def test_out_of_induction_the_cadence_runs_from_the_move(
    factory: Factory, enrolled: Callable[..., Patient], clock: FrozenClock
) -> None:
    """Last check-in in induction at NOW - 6 days, moved to maintenance at NOW - 5: a week plus grace from the move."""
    patient = enrolled("induction")
    factory.checkin(patient, total=4, taken_at=NOW - timedelta(days=6))
    clock.set(NOW - timedelta(days=5))
    course.change_phase(patient, "maintenance", None)
    db.session.commit()
    assert run(clock, NOW + timedelta(days=4)).counts == {"checked": 1, "nudged": 1}
    assert ":phase:" in (texts(patient)[0].dedupe_key or "")


def test_only_phq9_check_ins_count(factory: Factory, enrolled: Callable[..., Patient], clock: FrozenClock) -> None:
    """CLINICAL.md §5 watches the PHQ-9: a GAD-7 alone leaves the relapse watch as blind as no check-in."""
    patient = enrolled()
    factory.checkin(patient, total=6, taken_at=NOW - timedelta(days=9))
    factory.checkin(patient, answers=[1] * 7, instrument="gad7", taken_at=NOW - timedelta(days=1))
    assert run(clock, NOW).counts == {"checked": 1, "nudged": 1}


def test_opted_out_or_reminders_off_get_no_text_but_the_clinic_still_hears(
    factory: Factory, enrolled: Callable[..., Patient], clock: FrozenClock
) -> None:
    opted_out = enrolled(sms_opted_out=True)
    reminders_off = enrolled(reminders_enabled=False)
    for patient in (opted_out, reminders_off):
        factory.checkin(patient, total=6, taken_at=NOW - timedelta(days=21))

    assert run(clock, NOW).counts == {"checked": 2, "not_texted_opted_out": 2, "alerted": 2}

    assert texts(opted_out) == [] and texts(reminders_off) == []
    [alert] = clinic_alerts(opted_out)
    assert alert.reason.endswith("The patient has opted out of texts: please reach them another way.")
    assert db.session.scalars(sa.select(CheckinLink)).all() == []


def test_the_nudge_waits_out_quiet_hours_in_the_patients_zone(
    factory: Factory, enrolled: Callable[..., Patient], clock: FrozenClock
) -> None:
    patient = enrolled(timezone="America/New_York")
    # Due at 04:00 UTC, 23:00 in New York: quiet until 08:00 there, 13:00 UTC.
    factory.checkin(patient, total=6, taken_at=datetime(2026, 11, 12, 4, 0, tzinfo=UTC))
    start = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)

    for hour in range(9):
        assert run(clock, start + timedelta(hours=hour)).counts == {"checked": 1, "nudge_after_quiet_hours": 1}
    assert run(clock, start + timedelta(hours=9)).counts == {"checked": 1, "nudged": 1}
    assert texts(patient)[0].created_at == datetime(2026, 11, 21, 13, 0, tzinfo=UTC)


def test_a_reminder_texted_in_the_last_day_is_nudge_enough_for_now(
    factory: Factory, enrolled: Callable[..., Patient], clock: FrozenClock
) -> None:
    patient = enrolled()
    factory.checkin(patient, total=6, taken_at=NOW - timedelta(days=9))
    clock.set(NOW - timedelta(hours=3))
    queue_sms(patient.phone, "weekly", "reminder_weekly", patient_id=patient.id)
    db.session.commit()

    assert run(clock, NOW).counts == {"checked": 1, "nudge_after_recent_reminder": 1}
    # 24 h after it, and 08:00 in Chicago: the end of the quiet hours.
    assert run(clock, NOW + timedelta(hours=23)).counts == {"checked": 1, "nudged": 1}


def test_a_gap_another_scheduler_nudged_first_is_skipped_not_an_error(
    factory: Factory, enrolled: Callable[..., Patient], clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = enrolled()
    last = factory.checkin(patient, total=6, taken_at=NOW - timedelta(days=9))
    queue_sms(
        patient.phone, "theirs", "reminder_missed_checkin", dedupe_key=f"missed-checkin:{patient.id}:checkin:{last.id}"
    )
    db.session.commit()
    monkeypatch.setattr(job_module, "existing_keys", lambda *args: set())  # as read before their commit

    assert run(clock, NOW).counts == {"checked": 1, "duplicates": 1}
    assert db.session.scalars(sa.select(CheckinLink)).all() == []  # the link went with the SAVEPOINT


def test_checking_costs_the_same_queries_for_three_or_thirty(
    factory: Factory, clinic: Clinic, clock: FrozenClock, count_queries: Callable[[], Any]
) -> None:
    def add(n: int) -> None:
        for _ in range(n):
            patient = factory.patient(clinic, phase="maintenance")
            factory.checkin(patient, total=6, taken_at=NOW - timedelta(days=2))

    add(3)
    with count_queries() as three:
        run(clock, NOW)
    add(27)
    with count_queries() as thirty:
        run(clock, NOW)
    assert thirty.count == three.count


def test_run_job_prints_what_it_did(app: Flask, factory: Factory, clock: FrozenClock) -> None:
    patient = enrol(factory, clock, factory.clinic())
    factory.checkin(patient, total=6, taken_at=NOW - timedelta(days=10))

    result = app.test_cli_runner().invoke(args=["tracker", "run-job", "missed-checkins"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "missed-checkins: checked: 1, nudged: 1"


def test_nudging_and_alerting_cost_the_same_queries_for_three_or_thirty(
    factory: Factory, clinic: Clinic, clock: FrozenClock, count_queries: Callable[[], Any]
) -> None:
    """Set-based: a batch's texts, links and alerts go in as three inserts, however many patients owe them."""

    def add(n: int) -> list[Patient]:
        made = [enrol(factory, clock, clinic) for _ in range(n)]
        for patient in made:
            factory.checkin(patient, total=6, taken_at=NOW - timedelta(days=22))  # past the nudge and the alert
        return made

    first = add(3)
    with count_queries() as three:
        assert run(clock, NOW).counts == {"checked": 3, "nudged": 3, "alerted": 3}
    clock.set(NOW)
    add(30)
    with count_queries() as thirty:
        assert run(clock, NOW).counts == {"checked": 33, "nudged": 30, "alerted": 30}

    assert thirty.count == three.count
    assert all(len(texts(p)) == 1 and len(clinic_alerts(p)) == 1 for p in first)
    links = db.session.scalars(sa.select(CheckinLink)).all()
    assert len(links) == 33  # one per text that went in
