"""The `booked-visits` job: every hour, an attention alert for each booked booster 24 h past with nothing recorded.

CLINICAL.md §5: a booked booster whose time has passed by 24 hours with nothing recorded opens an attention alert
("booked visit not recorded"). services/boosters/booking.py finds and flags them; each booking is one unit of work,
and the alert's dedupe key makes it once, whichever scheduler gets there first. Logs name infusions by id only.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from tracker.jobs.registry import DbSession, JobResult, job
from tracker.services.boosters import booking
from tracker.unit_of_work import end_read, transaction

log = logging.getLogger(__name__)


@job("booked-visits", every=timedelta(hours=1))
def booked_visits(session: DbSession, now: datetime) -> JobResult:
    """Flag booked boosters 24 h past with nothing recorded (CLINICAL.md §5)."""
    result = JobResult()
    due = booking.unrecorded_visit_ids(now)
    end_read(session)
    for infusion_id in due:
        with transaction(session):
            flagged = booking.flag_unrecorded_visit(infusion_id, now)
        if flagged:
            result.add("alerted")
            log.info("booked visit %s not recorded: attention alert opened", infusion_id)
    return result
