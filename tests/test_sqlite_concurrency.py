"""The embedded database holds ordinary concurrent use (tracker/db.py: WAL, a busy timeout, BEGIN IMMEDIATE).

Its own app on a SQLite file, committing for real: 8 threads of mixed API writes and page reads at once
get no 5xx, and every check-in answered 201 is stored exactly once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AuthActions, make_test_app
from flask import Flask
from flask_migrate import upgrade

from tracker.extensions import db
from tracker.models import CheckIn, Patient, User
from tracker.services.accounts import enrolment, tokens
from tracker.services.accounts import users as accounts
from tracker.unit_of_work import transaction

THREADS = 8
ROUNDS = 20
PASSWORD = "correct horse battery"
ANSWERS = [1, 1, 1, 1, 0, 0, 0, 0, 0]


@pytest.fixture
def file_app(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Flask]:
    if request.config.getoption("--db") != "sqlite":
        pytest.skip("the embedded database's own test")
    app = make_test_app(f"sqlite:///{tmp_path / 'busy.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def _seed(app: Flask) -> tuple[list[str], list[str]]:
    """A clinic, a clinician per thread (email) and a patient per thread (API token)."""
    with app.app_context(), transaction(db.session):
        clinic = accounts.create_clinic("Busy clinic", "America/Chicago", oncall_phone="+13125550100")
        db.session.flush()
        emails, secrets = [], []
        for n in range(THREADS):
            email = f"clinician{n}@busy.example"
            staff = accounts.create_staff(clinic, "clinician", email, PASSWORD)
            emails.append(email)
            patient = enrolment.enrol_patient(
                staff, f"Patient {n}", f"+1312555{2000 + n:04d}", "America/Chicago"
            ).patient
            secrets.append(tokens.issue(db.session.get(User, patient.user_id)).secret)
    return emails, secrets


def test_eight_threads_of_writes_and_reads_get_no_5xx_and_store_every_201_once(file_app: Flask) -> None:
    emails, secrets = _seed(file_app)
    statuses: Counter[int] = Counter()
    created: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def work(n: int) -> None:
        client = file_app.test_client()
        headers = {"Authorization": f"Bearer {secrets[n]}"}
        staff = file_app.test_client()
        start.wait()
        login = AuthActions(staff).login(emails[n], PASSWORD)
        seen: list[Any] = [login]
        for i in range(ROUNDS):
            kind = i % 4
            if kind == 0:
                response = client.post(
                    "/api/v1/checkins", json={"instrument": "phq9", "answers": ANSWERS}, headers=headers
                )
            elif kind == 1:
                # a GAD-7 here: each instrument stays under the day's limit of check-ins (services/checkins/limit.py)
                key = {"Idempotency-Key": f"t{n}-{i}"}
                response = client.post(
                    "/api/v1/checkins", json={"instrument": "gad7", "answers": ANSWERS[:7]}, headers={**headers, **key}
                )
            elif kind == 2:
                response = staff.get("/clinic/patients")
            else:
                response = client.patch("/api/v1/me", json={"reminders": {"enabled": i % 8 == 3}}, headers=headers)
            seen.append(response)
        with lock:
            for response in seen:
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    failures.append(response.get_data(as_text=True)[:300])
                elif response.status_code == 201:
                    created.append(response.get_json()["id"])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == [], statuses
    assert len(created) == THREADS * ROUNDS // 2
    with file_app.app_context():
        stored = [str(i) for i in db.session.scalars(sa.select(CheckIn.id))]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == THREADS
    assert Counter(stored) == Counter(created)  # each 201 once, nothing stored that was not answered
