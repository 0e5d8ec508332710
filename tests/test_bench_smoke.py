"""The benchmark harness at a tiny size, so it cannot rot: the generator's rows are what the app would store,
the same seed gives the same rows (the shared password hash aside: its salt is new each time), and every
workload runs the product's code and reports its figures.

On PostgreSQL the data goes to a bench_* database beside the test database (the generator drops and rebuilds
it), loaded with COPY; on SQLite to a file of the test's own, loaded with executemany.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from bench import run, workloads
from bench.generate import Summary, batches, generate
from bench.harness import make_app
from tracker.extensions import db
from tracker.instruments import PHQ9
from tracker.models import Alert, AlertCheckIn, CheckIn, OutboundMessage, Patient

PATIENTS = 24
WEEKS = 8


@pytest.fixture(scope="module")
def bench_url(app: Flask, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bench database of this test run (`app` only so the PostgreSQL pass selects this module)."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('bench') / 'bench.sqlite3'}"
    return url.set(database=f"bench_smoke_{url.database}").render_as_string(hide_password=False)


class Collect:
    """Keeps what the generator would write, by table, as sorted tuples (but the password hash, salted anew)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[object, ...]]] = {}

    def write(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        columns = [c.name for c in table.columns if c.name != "password_hash"]
        self.rows.setdefault(table.name, []).extend(tuple(row.get(c) for c in columns) for row in rows)

    def commit(self) -> None:
        for rows in self.rows.values():
            rows.sort(key=repr)


def collected(seed: int, now: datetime) -> dict[str, list[tuple[object, ...]]]:
    into = Collect()
    for batch in batches(2, PATIENTS, WEEKS, seed, now):
        batch.flush(into)
    return into.rows


def checkin_rows(url: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.select(CheckIn.id, CheckIn.answers, CheckIn.total, CheckIn.taken_at).order_by(CheckIn.id)
            return [tuple(row) for row in conn.execute(query)]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def summary(bench_url: str) -> Summary:
    """One tiny database for the module: checked fresh first, then measured (the workloads write to it)."""
    return generate(bench_url, clinics=2, patients=PATIENTS, weeks=WEEKS, seed=3)


def test_generator_stores_what_the_app_would_and_repeats(summary: Summary) -> None:
    assert summary.rows["patient"] == PATIENTS
    for table in ("checkin", "infusion", "booster_request", "booster_evidence", "alert", "outbound_message"):
        assert summary.rows[table] > 0, table
    app = make_app(summary.url, summary.now)
    with app.app_context():
        checkins = db.session.scalars(sa.select(CheckIn)).all()
        assert len(checkins) == summary.checkins
        for checkin in checkins:
            score = PHQ9.score(checkin.answers)  # the product's scoring, as the app stores it
            stored = (checkin.total, checkin.severity, checkin.diagnosis, checkin.item9_positive)
            assert stored == (score.total, score.severity, score.diagnosis, score.item9_positive)
            assert checkin.taken_at <= summary.now
        # CLINICAL.md §3: every positive item 9 belongs to a safety alert; at most one unresolved per patient.
        positive = {c.id for c in checkins if c.item9_positive}
        linked = set(db.session.scalars(sa.select(AlertCheckIn.checkin_id)))
        assert positive == linked
        unresolved = db.session.execute(
            sa.select(Alert.patient_id, sa.func.count())
            .where(Alert.kind == "safety", Alert.status != "resolved")
            .group_by(Alert.patient_id)
        ).all()
        assert all(count == 1 for _, count in unresolved)
        assert db.session.scalar(sa.select(sa.func.count()).where(Patient.scanned_at.is_not(None))) == 0
        db.session.remove()
        db.engine.dispose()
    stored = checkin_rows(summary.url)
    assert sorted(row[0] for row in collected(3, summary.now)["checkin"]) == sorted(row[0] for row in stored)
    # The same seed, the same rows; another seed, others.
    assert collected(3, summary.now) == collected(3, summary.now)
    assert collected(4, summary.now)["checkin"] != collected(3, summary.now)["checkin"]


def test_every_workload_runs_and_reports(summary: Summary, capsys: pytest.CaptureFixture[str]) -> None:
    options = {"new_checkins": 5, "sms_rate": 500, "sms_messages": 8, "page_runs": 1, "healthz_runs": 3}
    rows = {}
    for name in run.ORDER:
        for row in workloads.WORKLOADS[name](summary.url, summary.now, options):
            rows.setdefault(row.work, row)
            assert row.seconds > 0 and row.peak_rss_mb > 0, row
    scan = rows["full relapse scan"]
    assert scan.queries > 0 and scan.floor_seconds and scan.ratio, scan
    assert scan.note.startswith(f"{PATIENTS} patients due") and "window rows" in scan.floor
    assert "5 new check-ins" in rows["scan after new check-ins"].note
    assert "queued_weekly" in rows["reminders job"].note  # the weekly slot has just passed
    assert "8 sent" in rows["SMS dispatcher at 500/s"].note and "fake got 8" in rows["SMS dispatcher at 500/s"].note
    for page in ("patient list page", "attention queue page", "GET /api/v1/clinic/patients?limit=200"):
        assert rows[page].queries > 0 and rows[page].floor == "/healthz, same client", page
    engine = sa.create_engine(summary.url)
    with engine.connect() as conn:
        sent = conn.scalar(sa.select(sa.func.count()).where(OutboundMessage.status == "sent"))
    engine.dispose()
    assert sent == 8
    # The worker's way out: one JSON line the runner reads, and the table it prints.
    run.main(["--worker", "patient-list", "--url", summary.url, "--now", summary.now.isoformat()])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["rows"]
    assert printed[0]["work"] == "patient list page"
    assert run.table(printed)[2].startswith("| patient list page | ")
