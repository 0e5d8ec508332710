"""The `relapse-scan` job, clause by clause of CLINICAL.md §5, through the job on real rows.

Check-ins go in through the check-in service, infusions through the course service and decisions through the
booster service, each at its moment on the test clock, exactly as the app writes them; then the job runs.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from factories import Factory
from flask import Flask

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs import relapse_scan as scan_job
from tracker.jobs.registry import JobResult, load_jobs
from tracker.models import Alert, BoosterRequest, CheckIn, Clinic, OutboundMessage, Patient
from tracker.services.boosters import queries as booster_queries
from tracker.services.boosters import requests as boosters
from tracker.services.checkins import submit as checkins
from tracker.services.course import relapse_inputs
from tracker.services.course import writes as course
from tracker.services.messaging import texts as messages

ONCALL = "+13125550100"
BACKUP = "+13125550101"


def answers_for(total: int) -> list[int]:
    """PHQ-9 answers with this total on items 1–8 (item 9 stays 0: no safety alert)."""
    answers = [0] * 9
    for i in range(total):
        answers[i % 8] += 1
    assert max(answers) <= 3, total
    return answers


class Course:
    """One patient's course on the test clock: day 0 is when it starts; every write through the services."""

    def __init__(self, factory: Factory, clock: FrozenClock, clinic: Clinic | None = None, **fields: Any) -> None:
        self.clock = clock
        self.start = clock()
        fields.setdefault("phase", "maintenance")
        self.patient = factory.patient(clinic or factory.clinic(oncall_phone=ONCALL), changed_at=self.start, **fields)
        self.factory = factory
        self.ids: dict[float, uuid.UUID] = {}

    def at(self, day: float) -> datetime:
        return self.start + timedelta(days=day)

    def infusion(self, day: float, kind: str = "maintenance") -> None:
        self.clock.set(self.at(day))
        course.record_infusion(self.patient, kind=kind, status="given", by=None, given_at=self.at(day))
        db.session.commit()

    def checkin(self, day: float, total: int) -> uuid.UUID:
        self.clock.set(self.at(day))
        result = checkins.submit(self.patient, "phq9", answers_for(total), None, "app")
        db.session.commit()
        self.ids[day] = result.checkin.id
        return result.checkin.id

    def decline(self, day: float) -> None:
        self.clock.set(self.at(day))
        request = booster_queries.open_request_for(self.patient.id)
        assert request is not None
        boosters.decline(request, self.factory.staff_for(self.patient), "Seen in clinic; not needed yet.")
        db.session.commit()

    def scan(self) -> JobResult:
        """The scheduler's next run, a few minutes after the last write (so a write by the run is later still)."""
        return load_jobs()["relapse-scan"].run(db.session, self.clock.advance(minutes=5))

    def requests(self) -> list[BoosterRequest]:
        query = sa.select(BoosterRequest).where(BoosterRequest.patient_id == self.patient.id)
        return list(db.session.scalars(query.order_by(BoosterRequest.raised_at)))

    def evidence_days(self, request: BoosterRequest) -> list[float]:
        by_id = {checkin_id: day for day, checkin_id in self.ids.items()}
        return sorted(by_id[e.checkin_id] for e in request.evidence)

    def alerts(self) -> list[Alert]:
        return list(db.session.scalars(sa.select(Alert).where(Alert.patient_id == self.patient.id)))

    def texts(self) -> list[OutboundMessage]:
        return list(db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.patient_id == self.patient.id)))

    def confirm_due(self) -> datetime | None:
        return db.session.scalar(sa.select(Patient.confirm_checkin_due_at).where(Patient.id == self.patient.id))


@pytest.fixture
def patient_course(ctx: None, factory: Factory, clock: FrozenClock) -> Course:
    """A maintenance patient with an infusion on day 0 and a low first check-in on day 1 (the reference low)."""
    course_ = Course(factory, clock)
    course_.infusion(0)
    course_.checkin(1, 3)
    return course_


def test_registered_every_ten_minutes() -> None:
    assert load_jobs()["relapse-scan"].every == timedelta(minutes=10)


# --- pairs ----------------------------------------------------------------------------------------------------


def test_a_pair_five_days_apart_raises_a_routine_request(patient_course: Course) -> None:
    c = patient_course
    c.checkin(10, 12)
    assert c.scan().counts == {"scanned": 1, "confirm_asked": 1}
    assert c.requests() == []
    assert c.confirm_due() == c.at(15)  # CLINICAL.md §5: a confirming check-in confirm_min_days later

    c.checkin(15, 13)
    result = c.scan()

    assert result.counts == {"scanned": 1, "raised_routine": 1, "confirm_cleared": 1}
    [request] = c.requests()
    assert (request.status, request.urgency, request.raised_by) == ("open", "routine", "scan")
    assert c.evidence_days(request) == [10, 15]
    [alert] = c.alerts()
    assert (alert.kind, alert.status, alert.booster_request_id) == ("attention", "open", request.id)
    assert alert.dedupe_key == f"booster-request:{request.id}"
    assert c.texts() == []  # routine: the dashboard, no page
    assert c.confirm_due() is None


@pytest.mark.parametrize(("first", "second"), [(10, 14), (2, 18)], ids=["4 days", "16 days"])
def test_a_pair_4_or_16_days_apart_raises_nothing(patient_course: Course, first: int, second: int) -> None:
    c = patient_course
    c.checkin(first, 12)
    c.scan()
    c.checkin(second, 13)
    assert c.scan().counts["scanned"] == 1
    assert c.requests() == [] and c.alerts() == [] and c.texts() == []


def test_a_non_signal_between_two_signals_breaks_the_pair(patient_course: Course) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.checkin(12, 7)
    c.checkin(15, 13)
    c.scan()
    assert c.requests() == []
    # c15 starts a fresh run: its own confirming check-in, five days on.
    assert c.confirm_due() == c.at(20)


def test_the_confirming_check_in_is_cleared_when_the_run_breaks(patient_course: Course) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.scan()
    assert c.confirm_due() == c.at(15)
    c.checkin(12, 6)
    assert c.scan().counts == {"scanned": 1, "confirm_cleared": 1}
    assert c.confirm_due() is None


# --- urgent ---------------------------------------------------------------------------------------------------


def test_a_single_total_of_20_with_the_rise_is_urgent_and_pages_on_call(patient_course: Course) -> None:
    c = patient_course
    c.checkin(5, 20)

    assert c.scan().counts == {"scanned": 1, "raised_urgent": 1, "oncall_texted": 1}

    [request] = c.requests()
    assert request.urgency == "urgent" and c.evidence_days(request) == [5]
    [alert] = c.alerts()
    assert alert.dedupe_key == f"booster-request:{request.id}" and "urgent" in alert.reason
    [text] = c.texts()
    assert (text.to_phone, text.purpose, text.critical) == (ONCALL, "booster_urgent_oncall", True)
    assert text.body == messages.BOOSTER_URGENT_ONCALL.format(url="http://127.0.0.1:5000/clinic/")
    assert text.dedupe_key == f"booster_urgent_oncall:{request.id}"


def test_a_total_of_20_without_the_rise_is_nothing(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    c = Course(factory, clock)
    c.infusion(0)
    c.checkin(1, 16)
    c.checkin(5, 20)  # 4 above the reference low
    c.scan()
    assert c.requests() == []


def test_urgent_pages_the_backup_without_an_on_call_and_logs_no_number(
    ctx: None, factory: Factory, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    backup_only = Course(factory, clock, clinic=factory.clinic(backup_phone=BACKUP))
    nobody = Course(factory, clock, clinic=factory.clinic())
    for c in (backup_only, nobody):
        c.infusion(0)
        c.checkin(1, 3)
        c.checkin(5, 24)

    with caplog.at_level(logging.INFO, logger="tracker"):
        result = backup_only.scan()

    assert result.counts == {"scanned": 2, "raised_urgent": 2, "oncall_texted": 1}
    assert [t.to_phone for t in backup_only.texts()] == [BACKUP]
    assert nobody.texts() == [] and len(nobody.alerts()) == 1  # the dashboard still shows it
    assert any("no on-call or backup phone" in r.getMessage() for r in caplog.records)
    logged = " ".join(r.getMessage() for r in caplog.records)
    for secret in (BACKUP, backup_only.patient.phone, backup_only.patient.display_name):
        assert secret not in logged


# --- phases and windows ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["screening", "induction", "discharged"])
def test_no_request_outside_maintenance_and_as_needed_but_still_scanned(
    ctx: None, factory: Factory, clock: FrozenClock, phase: str
) -> None:
    c = Course(factory, clock, phase=phase)
    c.infusion(0, kind="induction")
    c.checkin(1, 3)
    c.checkin(5, 24)

    assert c.scan().counts == {"scanned": 1}

    assert c.requests() == [] and c.alerts() == [] and c.texts() == [] and c.confirm_due() is None
    patient = db.session.get(Patient, c.patient.id)
    assert patient is not None and patient.scanned_at == patient.changed_at
    assert c.scan().counts == {}  # scanned: not picked again until something changes


def test_as_needed_is_watched_too(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    c = Course(factory, clock, phase="as_needed")
    c.infusion(0)
    c.checkin(1, 3)
    c.checkin(5, 21)
    assert c.scan().counts["raised_urgent"] == 1


def test_an_infusion_starts_a_new_window(patient_course: Course) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.scan()
    c.infusion(12)
    c.checkin(13, 3)
    c.checkin(16, 14)  # six days after c10, but c10 is in the old window

    c.scan()

    assert c.requests() == []
    assert c.confirm_due() == c.at(21)


def test_a_booster_given_completes_the_request_and_the_old_evidence_raises_nothing_again(
    patient_course: Course,
) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.checkin(15, 13)
    c.scan()
    c.infusion(17, kind="booster")  # CLINICAL.md §5: completes the open request; a new window begins

    assert c.scan().counts == {"scanned": 1}

    [request] = c.requests()
    assert request.status == "completed"


# --- decisions and open requests ------------------------------------------------------------------------------


def test_a_declined_request_is_not_raised_again_from_the_evidence_it_saw(patient_course: Course) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.checkin(15, 13)
    c.scan()
    c.decline(16)
    c.checkin(18, 14)  # pairs with c10, which the decision saw
    c.checkin(21, 14)  # pairs with c15, which it saw too

    c.scan()
    assert [r.status for r in c.requests()] == ["declined"]

    c.checkin(23, 15)  # pairs with c18: both after the decision
    assert c.scan().counts["raised_routine"] == 1
    declined, fresh = c.requests()
    assert declined.status == "declined" and fresh.status == "open"
    assert c.evidence_days(fresh) == [18, 23]


def test_an_open_request_absorbs_new_evidence_and_an_urgent_trigger_makes_it_urgent(patient_course: Course) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.checkin(15, 13)
    c.scan()

    c.checkin(17, 14)  # pairs with c10, the run unbroken
    assert c.scan().counts == {"scanned": 1, "evidence_added": 1}
    [request] = c.requests()
    assert (request.urgency, c.evidence_days(request)) == ("routine", [10, 15, 17])
    assert c.texts() == []

    c.checkin(19, 22)
    assert c.scan().counts == {"scanned": 1, "evidence_added": 1, "made_urgent": 1, "oncall_texted": 1}
    [request] = c.requests()
    assert (request.urgency, c.evidence_days(request)) == ("urgent", [10, 15, 17, 19])
    assert sorted(a.dedupe_key or "" for a in c.alerts()) == [
        f"booster-request:{request.id}",
        f"booster-urgent:{request.id}",
    ]
    [text] = c.texts()
    assert text.dedupe_key == f"booster_urgent_oncall:{request.id}"


def test_a_patient_raised_request_takes_the_scans_evidence(patient_course: Course) -> None:
    c = patient_course
    c.clock.set(c.at(9))
    boosters.raise_request(c.patient, "patient", None, "I feel it coming back.")
    db.session.commit()
    c.checkin(10, 12)
    c.checkin(15, 13)

    assert c.scan().counts == {"scanned": 1, "evidence_added": 1}
    [request] = c.requests()
    assert request.raised_by == "patient" and c.evidence_days(request) == [10, 15]


# --- idempotence ----------------------------------------------------------------------------------------------


def snapshot(c: Course) -> tuple[Any, ...]:
    return (
        [(r.id, r.status, r.urgency, r.version, c.evidence_days(r)) for r in c.requests()],
        sorted((a.id, a.dedupe_key or "", a.status) for a in c.alerts()),
        sorted((t.id, t.dedupe_key or "") for t in c.texts()),
        c.confirm_due(),
    )


def test_running_the_scan_twice_changes_nothing(patient_course: Course) -> None:
    c = patient_course
    c.checkin(10, 12)
    c.checkin(15, 13)
    c.checkin(17, 24)
    c.scan()
    before = snapshot(c)
    assert before[0][0][2:] == ("urgent", 1, [10, 15, 17])

    # The request the scan raised touched the patient: the next run reads them once more and finds nothing new.
    assert c.scan().counts == {"scanned": 1}
    assert c.scan().counts == {}
    assert snapshot(c) == before


def test_scanning_after_every_check_in_or_once_after_many_leaves_the_same_request(
    ctx: None, factory: Factory, clock: FrozenClock
) -> None:
    """CLINICAL.md §5: the same data leaves the same request open, however often it was scanned."""
    clinic = factory.clinic(oncall_phone=ONCALL)
    every, once = Course(factory, clock, clinic), Course(factory, clock, clinic)
    for c in (every, once):
        c.infusion(0)
    # Keep `once` out of the scans until the end: its check-ins never move changed_at past this.
    db.session.execute(sa.update(Patient).where(Patient.id == once.patient.id).values(scanned_at=once.at(999)))
    db.session.commit()
    for day, total in [(0.5, 3), (10, 12), (15, 13), (17, 14), (19, 21), (22, 6)]:
        for c in (every, once):
            c.checkin(day, total)
        every.scan()
    db.session.execute(sa.update(Patient).where(Patient.id == once.patient.id).values(scanned_at=None))
    db.session.commit()
    assert once.scan().counts == {"scanned": 1, "raised_urgent": 1, "oncall_texted": 1}

    [by_every], [by_once] = every.requests(), once.requests()
    assert (by_every.status, by_every.urgency) == (by_once.status, by_once.urgency) == ("open", "urgent")
    assert every.evidence_days(by_every) == once.evidence_days(by_once) == [10, 15, 17, 19]
    assert every.confirm_due() == once.confirm_due() is None


# --- the run itself -------------------------------------------------------------------------------------------


def test_only_patients_changed_since_their_last_scan_are_read(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    clinic = factory.clinic()
    quiet, busy = Course(factory, clock, clinic), Course(factory, clock, clinic)
    assert quiet.scan().counts == {"scanned": 2}
    busy.checkin(1, 4)
    assert quiet.scan().counts == {"scanned": 1}
    assert quiet.scan().counts == {}


def test_patients_are_read_in_batches(ctx: None, factory: Factory, clock: FrozenClock, monkeypatch: Any) -> None:
    monkeypatch.setattr(scan_job, "BATCH_SIZE", 2)
    clinic = factory.clinic(oncall_phone=ONCALL)
    courses = [Course(factory, clock, clinic) for _ in range(5)]
    for c in courses:
        c.infusion(0)
        c.checkin(1, 2)
        c.checkin(3, 23)
    assert courses[0].scan().counts == {"scanned": 5, "raised_urgent": 5, "oncall_texted": 5}


def test_one_patients_failure_leaves_the_others_done_and_itself_due(
    ctx: None, factory: Factory, clock: FrozenClock, monkeypatch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    clinic = factory.clinic(oncall_phone=ONCALL)
    courses = [Course(factory, clock, clinic) for _ in range(3)]
    for c in courses:
        c.infusion(0)
        c.checkin(1, 2)
        c.checkin(3, 23)
    broken = sorted(courses, key=lambda c: c.patient.id)[1].patient.id
    real_one, real_batch = relapse_inputs.load_one, relapse_inputs.load_windows

    def failing_one(patient_id: uuid.UUID) -> relapse_inputs.RelapseInputs:
        if patient_id == broken:
            raise RuntimeError("+13125550100 must never reach a log")
        return real_one(patient_id)

    def failing_batch(patient_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, relapse_inputs.RelapseInputs]:
        if broken in patient_ids:
            raise RuntimeError("+13125550100 must never reach a log")
        return real_batch(patient_ids)

    # The broken patient fails their batch (rolled back whole), then again when each of it is judged alone.
    monkeypatch.setattr(relapse_inputs, "load_one", failing_one)
    monkeypatch.setattr(relapse_inputs, "load_windows", failing_batch)
    with caplog.at_level(logging.INFO, logger="tracker"):
        assert courses[0].scan().counts == {"scanned": 2, "raised_urgent": 2, "oncall_texted": 2, "errors": 1}
    assert "a batch of 3 failed (RuntimeError)" in caplog.text
    assert f"patient {broken} failed (RuntimeError)" in caplog.text
    assert "+1312555" not in caplog.text  # the error's own message may quote row values: never logged
    monkeypatch.setattr(relapse_inputs, "load_one", real_one)
    monkeypatch.setattr(relapse_inputs, "load_windows", real_batch)
    assert courses[0].scan().counts == {"scanned": 3, "raised_urgent": 1, "oncall_texted": 1}
    assert all(len(c.requests()) == 1 for c in courses)


def test_run_job_prints_what_it_did(app: Flask, factory: Factory, clock: FrozenClock) -> None:
    clinic = factory.clinic(oncall_phone=ONCALL)
    patient = factory.patient(clinic, phase="maintenance", changed_at=clock())
    with app.app_context():
        attached = db.session.get(Patient, patient.id)
        assert attached is not None
        course.record_infusion(attached, kind="maintenance", status="given", by=None, given_at=clock())
        clock.advance(days=1)
        checkins.submit(attached, "phq9", answers_for(3), None, "clinic")
        clock.advance(days=4)
        checkins.submit(attached, "phq9", answers_for(22), None, "app")
        db.session.commit()

    result = app.test_cli_runner().invoke(args=["tracker", "run-job", "relapse-scan"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "relapse-scan: oncall_texted: 1, raised_urgent: 1, scanned: 1"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 2
        [request] = db.session.scalars(sa.select(BoosterRequest)).all()
        assert request.urgency == "urgent"
