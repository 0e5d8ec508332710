"""The `side-effects` job: every 5 minutes, text the next-morning side-effect check that is due (CLINICAL.md §7).

The due infusions are found in one read; each ask is one unit of work. Safe in two schedulers at once: the
infusion row is locked while it is asked, an infusion asked once (any conversation about it) is never asked
again, and the one-active-conversation index keeps a PHQ-9 by text and this check apart (a patient mid-PHQ-9 is
asked on a later run). Logs name infusions by id only.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from tracker.jobs.registry import DbSession, JobResult, job
from tracker.services.side_effects import asking
from tracker.unit_of_work import end_read, transaction

log = logging.getLogger(__name__)


@job("side-effects", every=timedelta(minutes=5))
def ask_side_effects(session: DbSession, now: datetime) -> JobResult:
    """Text the next-morning side-effect check to patients whose morning after a visit has come."""
    result = JobResult()
    due = asking.due_infusion_ids(now)
    end_read(session)
    for infusion_id in due:
        with transaction(session):
            asked = asking.ask(infusion_id, now)
        result.add("asked" if asked else "skipped")
        if asked:
            log.info("side-effect check asked by text for infusion %s", infusion_id)
    return result
