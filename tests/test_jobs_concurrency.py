"""The jobs are safe to run twice (ARCHITECTURE.md): two schedulers at once, and a scan killed half-way.

These tests commit for real (the schedulers' own connections, and a killed process, must see and write real
rows), so they do not use the rolled-back `connection` fixture: each seeds its own clinic and removes
everything it made when it ends.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs import claims, missed_checkins, relapse_scan
from tracker.jobs.registry import JobResult, load_jobs
from tracker.models import Alert, AuditEvent, BoosterRequest, CheckinLink, Clinic, OutboundMessage, Patient, User
from tracker.services.boosters import requests as boosters

# 09:00 in Chicago: outside the clinic's quiet hours, so the missed check-in nudges go at once.
from tracker.services.checkins import submit as checkins
from tracker.services.course import writes as course

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
ONCALL = "+13125550100"
BACKUP = "+13125550101"
# PHQ-9 answers by total (item 9 at 0), and one positive item 9 with a total of 1.
ANSWERS = {
    3: [1, 1, 1, 0, 0, 0, 0, 0, 0],
    4: [1, 1, 1, 1, 0, 0, 0, 0, 0],
    12: [2, 2, 2, 2, 1, 1, 1, 1, 0],
    13: [2, 2, 2, 2, 2, 1, 1, 1, 0],
    22: [3, 3, 3, 3, 3, 3, 2, 2, 0],
}
ITEM9 = [0, 0, 0, 0, 0, 0, 0, 0, 1]
REPO = Path(__file__).resolve().parent.parent
_phones = itertools.count(7000)


class Seed:
    """Rows committed for real through the services, at their moments on the clock; `remove` deletes them."""

    def __init__(self, app: Flask, clock: FrozenClock) -> None:
        self.app, self.clock = app, clock
        self.clinic_ids: list[uuid.UUID] = []

    def clinic(self, **fields: Any) -> uuid.UUID:
        with self.app.app_context():
            clinic = Clinic(name=f"Race clinic {len(self.clinic_ids)}", timezone="America/Chicago", **fields)
            db.session.add(clinic)
            db.session.commit()
            self.clinic_ids.append(clinic.id)
            return clinic.id

    def patient(self, clinic_id: uuid.UUID) -> uuid.UUID:
        """A maintenance patient enrolled 60 days ago, never scanned."""
        with self.app.app_context():
            phone = f"+1312556{next(_phones):04d}"
            user = User(clinic_id=clinic_id, role="patient", phone=phone)
            db.session.add(user)
            db.session.flush()
            enrolled = NOW - timedelta(days=60)
            patient = Patient(
                user_id=user.id,
                clinic_id=clinic_id,
                display_name="Race patient",
                phone=phone,
                timezone="America/Chicago",
                phase="maintenance",
                created_at=enrolled,
                changed_at=enrolled,
            )
            db.session.add(patient)
            db.session.commit()
            return patient.id

    def _as(self, patient_id: uuid.UUID, at: datetime, write: Callable[[Patient], object]) -> None:
        self.clock.set(at)
        with self.app.app_context():
            patient = db.session.get(Patient, patient_id)
            assert patient is not None
            write(patient)
            db.session.commit()
        self.clock.set(NOW)

    def infusion(self, patient_id: uuid.UUID, at: datetime) -> None:
        self._as(
            patient_id,
            at,
            lambda p: course.record_infusion(p, kind="maintenance", status="given", by=None, given_at=at),
        )

    def checkin(self, patient_id: uuid.UUID, at: datetime, answers: list[int]) -> None:
        self._as(patient_id, at, lambda p: checkins.submit(p, "phq9", answers, None, "app"))

    def patient_request(self, patient_id: uuid.UUID, at: datetime) -> None:
        self._as(patient_id, at, lambda p: boosters.raise_request(p, "patient", None, "I feel it coming back."))

    def urgent(self, clinic_id: uuid.UUID) -> uuid.UUID:
        """Infusion 6 days ago, a low check-in, then a severe one an hour ago: an urgent trigger."""
        patient_id = self.patient(clinic_id)
        self.infusion(patient_id, NOW - timedelta(days=6))
        self.checkin(patient_id, NOW - timedelta(days=5), ANSWERS[3])
        self.checkin(patient_id, NOW - timedelta(hours=1), ANSWERS[22])
        return patient_id

    def remove(self) -> None:
        with self.app.app_context():
            ids = self.clinic_ids
            patients = sa.select(Patient.id).where(Patient.clinic_id.in_(ids)).scalar_subquery()
            db.session.rollback()
            db.session.execute(
                sa.delete(OutboundMessage).where(
                    sa.or_(OutboundMessage.clinic_id.in_(ids), OutboundMessage.patient_id.in_(patients))
                )
            )
            db.session.execute(sa.delete(AuditEvent).where(AuditEvent.clinic_id.in_(ids)))
            # Users take their patients with them, and patients their check-ins, requests, alerts and links.
            db.session.execute(sa.delete(User).where(User.clinic_id.in_(ids)))
            db.session.execute(sa.delete(Clinic).where(Clinic.id.in_(ids)))
            db.session.commit()


@pytest.fixture
def seed(app: Flask, clock: FrozenClock) -> Iterator[Seed]:
    seeded = Seed(app, clock)
    try:
        yield seeded
    finally:
        seeded.remove()


def rows(app: Flask, statement: sa.Select[Any]) -> list[Any]:
    with app.app_context():
        return list(db.session.execute(statement).all())


# --- the claim itself -----------------------------------------------------------------------------------------


def test_a_row_claimed_by_an_open_transaction_is_not_claimed_again(app: Flask, seed: Seed) -> None:
    """PostgreSQL skips the locked row at once; SQLite's UPDATE waits for the writer, then finds it done."""
    patient_id = seed.patient(seed.clinic())
    with app.app_context():
        engine = db.engine
    due = sa.or_(Patient.scanned_at.is_(None), Patient.changed_at > Patient.scanned_at)
    done = {"scanned_at": Patient.changed_at}
    first, second = Session(engine), Session(engine)
    got: list[bool] = []
    try:
        assert claims.claim(first, Patient.id, patient_id, due, done) is True
        worker = threading.Thread(target=lambda: got.append(claims.claim(second, Patient.id, patient_id, due, done)))
        worker.start()
        worker.join(timeout=0.5 if engine.dialect.name == "postgresql" else 0.2)
        if engine.dialect.name == "postgresql":
            assert got == [False] and not worker.is_alive()  # skipped while held, not waited for
        first.commit()
        worker.join(timeout=20)
        assert got == [False]
        second.commit()
        assert claims.claim(second, Patient.id, patient_id, due, done) is False  # done stays done
    finally:
        first.close()
        second.close()


# --- two schedulers at once ------------------------------------------------------------------------------------

REAL_DUE_IDS = claims.due_ids
REAL_ELIGIBLE = missed_checkins.eligible


def race(app: Flask, name: str, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Run job `name` in two threads, each with its own app context, session and connection, both having read
    the same work before either claims any; returns the two runs' counts added up."""
    both_read = threading.Barrier(2, timeout=20)
    state = threading.local()

    def read_then_wait(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            found = real(*args, **kwargs)
            if not getattr(state, "waited", False):
                state.waited = True
                both_read.wait()
            return found

        return wrapper

    monkeypatch.setattr(claims, "due_ids", read_then_wait(REAL_DUE_IDS))
    monkeypatch.setattr(missed_checkins, "eligible", read_then_wait(REAL_ELIGIBLE))
    results: list[JobResult] = []
    failures: list[BaseException] = []

    def scheduler() -> None:
        try:
            with app.app_context():
                results.append(load_jobs()[name].run(db.session, NOW))
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        monkeypatch.undo()
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    total: Counter[str] = Counter()
    for result in results:
        total.update(result.counts)
    return total


@pytest.mark.postgres_only
def test_two_schedulers_at_once_make_each_effect_exactly_once(
    app: Flask, seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic = seed.clinic(oncall_phone=ONCALL, backup_phone=BACKUP)
    routine = [seed.patient(clinic) for _ in range(4)]
    for patient_id in routine:  # a pair 5 days and 23 hours apart
        seed.infusion(patient_id, NOW - timedelta(days=15))
        seed.checkin(patient_id, NOW - timedelta(days=14), ANSWERS[3])
        seed.checkin(patient_id, NOW - timedelta(days=6), ANSWERS[12])
        seed.checkin(patient_id, NOW - timedelta(hours=1), ANSWERS[13])
    urgent = [seed.urgent(clinic) for _ in range(4)]
    made_urgent = []
    for _ in range(2):  # a patient-raised request open, then a severe check-in
        patient_id = seed.urgent(clinic)
        seed.patient_request(patient_id, NOW - timedelta(minutes=50))
        made_urgent.append(patient_id)
    at_risk = [seed.patient(clinic) for _ in range(3)]
    for patient_id in at_risk:  # safety alerts a minute past their deadline
        seed.checkin(patient_id, NOW - timedelta(minutes=31), ITEM9)
    overdue = [seed.patient(clinic) for _ in range(2)]
    for patient_id in overdue:
        seed.checkin(patient_id, NOW - timedelta(days=22), ANSWERS[4])

    scan = race(app, "relapse-scan", monkeypatch)
    escalated = race(app, "escalations", monkeypatch)
    missed = race(app, "missed-checkins", monkeypatch)

    # What each run reported, added up: every effect once between the two.
    assert (scan["raised_routine"], scan["raised_urgent"], scan["made_urgent"], scan["oncall_texted"]) == (4, 4, 2, 6)
    assert scan["errors"] == scan["retry_next_run"] == 0
    # Both read all three alerts before either claimed one: each was escalated by one and skipped by the other.
    assert escalated == Counter({"escalated": 3, "claimed_elsewhere": 3})
    assert missed["nudged"] == 2 and missed["errors"] == 0
    # What the database holds.
    requests = rows(
        app,
        sa.select(
            BoosterRequest.patient_id, BoosterRequest.urgency, BoosterRequest.raised_by, BoosterRequest.status
        ).where(BoosterRequest.clinic_id == clinic),
    )
    by_patient = Counter(r.patient_id for r in requests)
    assert set(by_patient) == {*routine, *urgent, *made_urgent} and set(by_patient.values()) == {1}
    assert Counter((r.urgency, r.raised_by, r.status) for r in requests) == Counter(
        {("routine", "scan", "open"): 4, ("urgent", "scan", "open"): 4, ("urgent", "patient", "open"): 2}
    )
    alert_keys = [key for (key,) in rows(app, sa.select(Alert.dedupe_key).where(Alert.clinic_id == clinic))]
    assert Counter((key or "safety").split(":")[0] for key in alert_keys) == Counter(
        {"booster-request": 10, "booster-urgent": 2, "safety": 3, "missed-checkin-alert": 2}
    )
    purposes = Counter(
        p for (p,) in rows(app, sa.select(OutboundMessage.purpose).where(OutboundMessage.clinic_id == clinic))
    )
    assert purposes == Counter(
        {"booster_urgent_oncall": 6, "safety_oncall": 3, "safety_escalation": 3, "reminder_missed_checkin": 2}
    )
    links = rows(app, sa.select(CheckinLink.patient_id).where(CheckinLink.patient_id.in_(overdue)))
    assert sorted(p for (p,) in links) == sorted(overdue)  # the loser's link went with its SAVEPOINT
    # And nothing is left for a third run to do.
    with app.app_context():
        assert load_jobs()["escalations"].run(db.session, NOW).counts == {}
        load_jobs()["relapse-scan"].run(db.session, NOW)
        assert load_jobs()["relapse-scan"].run(db.session, NOW).counts == {}


def test_two_scans_at_once_in_batches_judge_each_patient_once(
    app: Flask, seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read the same due patients before either claims; batches of three, so the claims interleave."""
    clinic = seed.clinic(oncall_phone=ONCALL)
    patients = [seed.urgent(clinic) for _ in range(8)]
    monkeypatch.setattr(relapse_scan, "BATCH_SIZE", 3)

    scan = race(app, "relapse-scan", monkeypatch)

    assert (scan["raised_urgent"], scan["oncall_texted"]) == (8, 8)
    # A raise touches the patient: on SQLite the second scan may judge them again once the first committed, and
    # finds nothing new (CLINICAL.md §5: scanning the same data again creates nothing).
    assert 8 <= scan["scanned"] <= 16
    assert scan["errors"] == scan["retry_next_run"] == 0
    requests = rows(app, sa.select(BoosterRequest.patient_id).where(BoosterRequest.clinic_id == clinic))
    assert Counter(p for (p,) in requests) == Counter(dict.fromkeys(patients, 1))
    alerts = rows(app, sa.select(Alert.patient_id).where(Alert.clinic_id == clinic))
    texts = rows(app, sa.select(OutboundMessage.patient_id).where(OutboundMessage.clinic_id == clinic))
    assert len(alerts) == len(texts) == 8 and {p for (p,) in alerts} == {p for (p,) in texts} == set(patients)


# --- a scan killed half-way ------------------------------------------------------------------------------------

# Run in a child process: the scan in batches of two, killed outright (SIGKILL) in the second batch's transaction,
# after its booster requests, alerts and texts were written and before its commit.
KILLED_SCAN = """
import os, signal, sys
from datetime import datetime
from tracker import create_app
from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs import relapse_scan
from tracker.jobs.registry import load_jobs
from tracker.services.boosters import scan

now = datetime.fromisoformat(sys.argv[2])
app = create_app({"ENVIRON": {"TRACKER_ENV": "test", "DATABASE_URL": sys.argv[1]}, "CLOCK": FrozenClock(now)})
real, batches = scan.judge_batch, []

def judge_then_die(*args):
    done = real(*args)  # flushed: the batch's rows are written, not committed
    batches.append(done)
    if len(batches) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return done

scan.judge_batch = judge_then_die
relapse_scan.BATCH_SIZE = 2
with app.app_context():
    load_jobs()["relapse-scan"].run(db.session, now)
"""


def wait_for_the_server_to_roll_back(app: Flask) -> None:
    """PostgreSQL ends a dead client's transaction (and frees its locks) when it sees the socket close."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return  # SQLite: the dead process's lock went with it, and its unfinished write never happened
        deadline = time.monotonic() + 10
        query = sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
        )
        while db.session.scalar(query):
            assert time.monotonic() < deadline, "the killed scan's transaction is still open"
            db.session.rollback()
            time.sleep(0.05)


def test_a_scan_killed_half_way_leaves_no_half_written_patient_and_the_next_run_finishes(
    app: Flask, seed: Seed
) -> None:
    clinic = seed.clinic(oncall_phone=ONCALL)
    patients = sorted(seed.urgent(clinic) for _ in range(5))  # the scan goes in id order
    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=False)

    child = subprocess.run(  # noqa: S603 -- our own interpreter running our own script
        [sys.executable, "-c", KILLED_SCAN, url, NOW.isoformat()],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -9, child.stderr.decode()[-2000:]
    wait_for_the_server_to_roll_back(app)

    def state() -> dict[uuid.UUID, tuple[int, int, int, bool]]:
        """Per patient: requests, alerts, texts, and whether a scan was recorded."""
        found = {}
        for patient_id in patients:
            requests = rows(app, sa.select(BoosterRequest.id).where(BoosterRequest.patient_id == patient_id))
            alerts = rows(app, sa.select(Alert.id).where(Alert.patient_id == patient_id))
            texts = rows(app, sa.select(OutboundMessage.id).where(OutboundMessage.patient_id == patient_id))
            [(scanned_at,)] = rows(app, sa.select(Patient.scanned_at).where(Patient.id == patient_id))
            found[patient_id] = (len(requests), len(alerts), len(texts), scanned_at is not None)
        return found

    # The first batch was committed whole; the second died mid-transaction and left nothing; the last waits.
    assert state() == {
        **dict.fromkeys(patients[:2], (1, 1, 1, True)),
        **dict.fromkeys(patients[2:], (0, 0, 0, False)),
    }

    with app.app_context():
        result = load_jobs()["relapse-scan"].run(db.session, NOW)

    assert (result.counts["raised_urgent"], result.counts["oncall_texted"]) == (3, 3)
    assert state() == dict.fromkeys(patients, (1, 1, 1, True))
