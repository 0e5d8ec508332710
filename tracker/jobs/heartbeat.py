"""The heartbeat job: each scheduler process says it is alive (services/heartbeat.py keeps the rows)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.jobs.registry import DbSession, JobResult, job
from tracker.services.heartbeat import beat, forget_gone
from tracker.unit_of_work import transaction


@job("heartbeat", every=timedelta(minutes=1))
def heartbeat(session: DbSession, now: datetime) -> JobResult:
    """Write this process's heartbeat and forget processes gone for a week."""
    with transaction(session):
        beat(session, now, "heartbeat")
        gone = forget_gone(session, now)
    result = JobResult({"beats": 1})
    if gone:
        result.add("forgotten", gone)
    return result
