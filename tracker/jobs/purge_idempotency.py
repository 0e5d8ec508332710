"""The purge-idempotency job: replayable API answers are forgotten after their 24 hours."""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.jobs.registry import DbSession, JobResult, job
from tracker.services.retention import purge_idempotency_records
from tracker.unit_of_work import transaction


@job("purge-idempotency", every=timedelta(hours=1))
def purge_idempotency(session: DbSession, now: datetime) -> JobResult:
    """Delete idempotency records (stored response bodies) older than 24 hours."""
    with transaction(session):
        purged = purge_idempotency_records(session, now)
    return JobResult({"purged": purged} if purged else {})
