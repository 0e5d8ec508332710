"""The jobs framework: run-job, the heartbeat, the scheduler's settings, /readyz's report."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs.registry import JobResult, load_jobs
from tracker.jobs.scheduler import build_scheduler
from tracker.models import SchedulerHeartbeat
from tracker.services.heartbeat import is_stale


def test_run_job_prints_what_it_did(app: Flask, connection: sa.Connection, clock: FrozenClock) -> None:
    result = app.test_cli_runner().invoke(args=["tracker", "run-job", "heartbeat"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "heartbeat: beats: 1"
    with app.app_context():
        [row] = db.session.scalars(sa.select(SchedulerHeartbeat)).all()
        assert row.beat_at == clock.current


def test_run_job_names_the_jobs_when_asked_for_an_unknown_one(app: Flask, connection: sa.Connection) -> None:
    result = app.test_cli_runner().invoke(args=["tracker", "run-job", "nonsense"])
    assert result.exit_code != 0
    assert "No job 'nonsense'" in result.output and "heartbeat" in result.output


def test_heartbeat_goes_stale_after_15_minutes(ctx: None, clock: FrozenClock) -> None:
    assert is_stale(db.session, clock.current)
    load_jobs()["heartbeat"].run(db.session, clock.current)
    assert not is_stale(db.session, clock.current + timedelta(minutes=15))
    assert is_stale(db.session, clock.current + timedelta(minutes=15, seconds=1))


def test_readyz_reports_the_scheduler(client: FlaskClient, app: Flask, clock: FrozenClock) -> None:
    assert client.get("/readyz").get_json()["scheduler"] == "stale"
    with app.app_context():
        load_jobs()["heartbeat"].run(db.session, clock.current)
    body = client.get("/readyz").get_json()
    assert body["scheduler"] == "ok" and body["scheduler_beat_at"] == clock.current.isoformat()
    assert client.get("/readyz").status_code == 200


def test_scheduler_has_every_job_with_safe_defaults(app: Flask) -> None:
    scheduler = build_scheduler(app, blocking=False)
    scheduler.start(paused=True)  # job defaults are applied when the scheduler starts
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    assert set(jobs) == set(load_jobs())
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time == 60


def test_job_result_reads_well() -> None:
    result = JobResult()
    assert str(result) == "nothing to do"
    result.add("sent", 2)
    result.add("failed")
    assert str(result) == "failed: 1, sent: 2"
