"""The `relapse-scan` job: every 10 minutes, judge each patient whose data changed since their last scan.

The rule is `tracker.relapse.assess` (CLINICAL.md §5); services/boosters/scan.py judges patients and acts on
what it says: raise a booster request (with an attention alert, and a text to the on-call contact when
urgent), add evidence to the open one, and set or clear the confirming check-in the reminders job sends.
This module picks and claims the patients, a batch per unit of work.

Picked: patients whose check-ins, infusions, decisions, phase or clinic settings changed since they were last
scanned (``changed_at > scanned_at``, or never scanned), found by a partial index of exactly those, so a run
costs what changed, not what the clinic holds. Nothing else needs a second look as time passes: the rule's
verdict is a function of the data alone, and the one moment §5 lets lapse (a pair can close until first
signal + confirm_max_days) is worked out from the stored due time by the reminders job.

Each batch is claimed, judged and written in one transaction (tracker/jobs/claims.py), so two schedulers never
judge one patient at once, and a run killed half-way leaves whole batches behind it and due ones ahead. The
claim records the ``changed_at`` it saw as ``scanned_at``: a change committed while the scan works (another
check-in) moves ``changed_at`` past it, and the next run looks again. The request, the alert and the text are
each also guarded by a unique constraint; a batch that meets one taken by a concurrent writer (or fails in any
way) is rolled back whole and its patients judged again one by one, so one patient's trouble costs no other.

Services write through db.session, so ``session`` is the app's scoped session, as the scheduler and
`run-job` pass it. Logs name patients and requests by id; never names, numbers or scores.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import load_only

from tracker.db import ids_in
from tracker.errors import Conflict
from tracker.jobs import claims
from tracker.jobs.registry import DbSession, JobResult, job
from tracker.models import Clinic, Patient
from tracker.services.boosters import scan
from tracker.unit_of_work import transaction

log = logging.getLogger(__name__)

JOB_EVERY = timedelta(minutes=10)
# Large batches: a batch costs about twenty statements whatever its size, and a thousand windows take tens of MB.
BATCH_SIZE = 1000


def scan_due() -> sa.ColumnElement[bool]:
    """Patients whose check-ins, infusions, decisions or phase changed since their last scan.

    The same condition as the partial index ix_patient_scan_due (models/patient.py), term for term.
    """
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


def scan_batch(
    session: DbSession, patient_ids: Sequence[uuid.UUID], rules: dict[uuid.UUID, scan.ClinicRules]
) -> tuple[dict[uuid.UUID, list[str]], int]:
    """Claim, judge and act on a batch, in the caller's transaction: what was done per patient, and how many
    another process had claimed first."""
    claimed = claims.claim_batch(session, Patient.id, patient_ids, scan_due(), {"scanned_at": Patient.changed_at})
    if not claimed:
        return {}, len(patient_ids)
    # Only the columns the judging reads or writes; touching another one would be a query per patient.
    columns = (Patient.id, Patient.clinic_id, Patient.phase, Patient.confirm_checkin_due_at, Patient.changed_at)
    patients = list(
        session.scalars(
            sa.select(Patient)
            .options(load_only(*columns, raiseload=True))
            .where(ids_in(session, Patient.id, claimed))
            .order_by(Patient.id)
            .execution_options(populate_existing=True)
        )
    )
    scan.clinic_rules({patient.clinic_id for patient in patients}, rules)
    return scan.judge_batch(patients, rules), len(patient_ids) - len(claimed)


def scan_alone(session: DbSession, patient_id: uuid.UUID, result: JobResult) -> None:
    """One patient in a unit of its own, through the services: after their batch failed."""
    try:
        with transaction(session):
            done = scan_patient(session, patient_id)
    except Conflict:
        # A clinician or the patient moved the request meanwhile (and so changed_at): next run.
        log.info("relapse scan: patient %s changed while scanned; left for the next run", patient_id)
        result.add("retry_next_run")
        return
    except Exception as error:
        # One patient's trouble never costs the others. Only the type: messages can quote row values.
        log.error("relapse scan: patient %s failed (%s); left for the next run", patient_id, type(error).__name__)
        result.add("errors")
        return
    for what in done:
        result.add(what)


@job("relapse-scan", every=JOB_EVERY)
def relapse_scan(session: DbSession, now: datetime) -> JobResult:
    """Judge patients whose data changed (CLINICAL.md §5): booster requests, alerts, confirming check-ins."""
    result = JobResult()
    rules: dict[uuid.UUID, scan.ClinicRules] = {}  # each clinic's thresholds, read once per run
    after: uuid.UUID | None = None
    while ids := claims.due_ids(session, Patient.id, scan_due(), after, BATCH_SIZE):
        after = ids[-1]
        try:
            with transaction(session):  # one batch per unit: a failure later in the run loses nothing here
                done, elsewhere = scan_batch(session, ids, rules)
        except Exception as error:
            # Rolled back whole: nothing of it was kept, so judging each patient alone doubles nothing.
            log.warning(
                "relapse scan: a batch of %d failed (%s); its patients judged one by one",
                len(ids),
                type(error).__name__,
            )
            for patient_id in ids:
                scan_alone(session, patient_id, result)
            continue
        if elsewhere:
            result.add("claimed_elsewhere", elsewhere)
        for did in done.values():
            for what in did:
                result.add(what)
    return result
