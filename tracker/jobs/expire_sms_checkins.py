"""The expire-sms-checkins job: a check-in by text left silent for a day ends unscored."""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.jobs.registry import DbSession, JobResult, job
from tracker.services.checkins.by_text import expire_stale
from tracker.unit_of_work import transaction


@job("expire-sms-checkins", every=timedelta(hours=1))
def expire_sms_checkins(session: DbSession, now: datetime) -> JobResult:
    """Expire SMS check-ins left silent for 24 hours (unscored)."""
    with transaction(session):
        expired = expire_stale(session, now)
    return JobResult({"expired": expired} if expired else {})
