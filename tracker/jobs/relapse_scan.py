"""The `relapse-scan` job: every 10 minutes, judge each patient whose data changed since their last scan.

The rule is `tracker.relapse.assess` (CLINICAL.md §5); services/boosters/scan.py judges a patient and acts on
what it says: raise a booster request (with an attention alert, and a text to the on-call contact when
urgent), add evidence to the open one, and set or clear the confirming check-in the reminders job sends.
This module picks and claims the patients, one unit of work each.

Picked: patients whose check-ins, infusions or decisions changed since they were last scanned
(``changed_at > scanned_at``, or never scanned). Each patient is claimed and judged in a transaction of its
own (tracker/jobs/claims.py), so two schedulers never judge one patient at once, and a run killed half-way
leaves whole patients behind it and due ones ahead. The claim records the ``changed_at`` it saw as
``scanned_at``: a change committed while the scan works (another check-in) moves ``changed_at`` past it, and
the next run looks again. The request, the alert and the text are each also guarded by a unique constraint.

Services write through db.session, so ``session`` is the app's scoped session, as the scheduler and
`run-job` pass it. Logs name patients and requests by id; never names, numbers or scores.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from tracker.errors import Conflict
from tracker.jobs import claims
from tracker.jobs.registry import DbSession, JobResult, job
from tracker.models import Clinic, Patient
from tracker.services.boosters import scan
from tracker.unit_of_work import transaction

log = logging.getLogger(__name__)

JOB_EVERY = timedelta(minutes=10)
BATCH_SIZE = 200


def scan_due() -> sa.ColumnElement[bool]:
    """Patients whose check-ins, infusions, decisions or phase changed since their last scan."""
    return sa.or_(Patient.scanned_at.is_(None), Patient.changed_at > Patient.scanned_at)


def scan_patient(session: DbSession, patient_id: uuid.UUID) -> list[str]:
    """Claim, judge and act on one patient, in the caller's transaction; returns what it did, for the counts."""
    # The claim writes scanned_at = the changed_at it saw, under the claim's lock (see the module docstring).
    if not claims.claim(session, Patient.id, patient_id, scan_due(), {"scanned_at": Patient.changed_at}):
        return ["claimed_elsewhere"]
    patient = session.get(Patient, patient_id, populate_existing=True)
    assert patient is not None  # claimed just now
    clinic = session.get(Clinic, patient.clinic_id)
    assert clinic is not None  # a patient always has a clinic (foreign key)
    done = scan.judge(patient, clinic)
    session.flush()
    return done


@job("relapse-scan", every=JOB_EVERY)
def relapse_scan(session: DbSession, now: datetime) -> JobResult:
    """Judge patients whose data changed (CLINICAL.md §5): booster requests, alerts, confirming check-ins."""
    result = JobResult()
    after: uuid.UUID | None = None
    while ids := claims.due_ids(session, Patient.id, scan_due(), after, BATCH_SIZE):
        after = ids[-1]
        for patient_id in ids:
            try:
                with transaction(session):  # one patient per unit: a failure later in the run loses nothing here
                    done = scan_patient(session, patient_id)
            except Conflict:
                # A clinician or the patient moved the request meanwhile (and so changed_at): next run.
                log.info("relapse scan: patient %s changed while scanned; left for the next run", patient_id)
                result.add("retry_next_run")
                continue
            except Exception as error:
                # One patient's trouble never costs the others. Only the type: messages can quote row values.
                log.error(
                    "relapse scan: patient %s failed (%s); left for the next run", patient_id, type(error).__name__
                )
                result.add("errors")
                continue
            for what in done:
                result.add(what)
    return result
