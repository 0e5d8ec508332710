"""The scheduler process: APScheduler 3 running every registered job, each in an app context.

It is its own process (`tracker scheduler`), never a thread in each web worker: APScheduler 3
cannot share work between processes. Running two is safe: jobs claim work in the database.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from tracker import clock
from tracker.extensions import db
from tracker.jobs.registry import Job, JobResult, load_jobs
from tracker.services.heartbeat import beat
from tracker.unit_of_work import transaction

log = logging.getLogger(__name__)


def run_job(app: Flask, job: Job) -> JobResult | None:
    """Run one job once in its own app context; log its counts; never let one failure stop the rest."""
    with app.app_context():
        try:
            result = job.run(db.session, clock.now())
            if job.name != "heartbeat":
                with transaction(db.session):
                    beat(db.session, clock.now(), job.name)
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", job.name)
            return None
        log.info("job %s: %s", job.name, result)
        return result


def build_scheduler(app: Flask, blocking: bool = True) -> BaseScheduler:
    scheduler_class: Any = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(
        timezone="UTC",
        job_defaults={
            # After a pause (deploy, sleep), run a missed job once, not once per missed slot.
            "coalesce": True,
            # A run more than a minute late is dropped: the next one comes soon and sees the same data.
            "misfire_grace_time": 60,
            # Never overlap a job with itself in one process; other processes are kept out by claims.
            "max_instances": 1,
        },
    )
    for job in load_jobs().values():
        scheduler.add_job(run_job, "interval", args=(app, job), seconds=job.every.total_seconds(), id=job.name)
    return scheduler


_started_in_process = threading.Lock()
_started = False


def start_in_background(app: Flask) -> bool:
    """For the all-in-one `make run`: start once per process; the caller avoids the reloader's parent."""
    global _started
    with _started_in_process:
        if _started:
            return False
        build_scheduler(app, blocking=False).start()
        _started = True
        return True
