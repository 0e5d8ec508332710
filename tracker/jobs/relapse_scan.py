"""The `relapse-scan` job: every 10 minutes, judge each patient whose data changed since their last scan.

The rule is `tracker.relapse.assess` (CLINICAL.md §5); this module loads a patient's rows for it and carries
out what it says: raise a booster request (with an attention alert, and a text to the on-call contact when
urgent), add evidence to the open one, and set or clear the confirming check-in the reminders job sends.

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
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from tracker import relapse
from tracker.errors import Conflict
from tracker.jobs import claims
from tracker.jobs.registry import DbSession, JobResult, job
from tracker.models import BoosterRequest, CheckIn, Clinic, Infusion, Patient
from tracker.models.booster import OPEN_STATUSES
from tracker.services.alerts import writes as alerts
from tracker.services.boosters import requests as boosters
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import queue_sms
from tracker.unit_of_work import transaction

log = logging.getLogger(__name__)

JOB_EVERY = timedelta(minutes=10)
BATCH_SIZE = 200
ONCALL_PURPOSE = "booster_urgent_oncall"
RAISED_REASONS = {
    relapse.ROUTINE: "Returning symptoms: two raised check-ins in a row. A booster request awaits your decision.",
    relapse.URGENT: "Returning symptoms: a severe check-in. An urgent booster request awaits your decision.",
}
MADE_URGENT_REASON = "Returning symptoms: a severe check-in made the open booster request urgent."


def scan_due() -> sa.ColumnElement[bool]:
    """Patients whose check-ins, infusions, decisions or phase changed since their last scan."""
    return sa.or_(Patient.scanned_at.is_(None), Patient.changed_at > Patient.scanned_at)


def thresholds_of(clinic: Clinic) -> relapse.Thresholds:
    """CLINICAL.md §5: every threshold is the clinic's own setting."""
    return relapse.Thresholds(
        signal_min_total=clinic.signal_min_total,
        signal_min_rise=clinic.signal_min_rise,
        confirm_min_days=clinic.confirm_min_days,
        confirm_max_days=clinic.confirm_max_days,
        urgent_min_total=clinic.urgent_min_total,
    )


@dataclass(frozen=True)
class History:
    """A patient's rows as `relapse.assess` reads them, and the open request itself."""

    checkins: list[relapse.CheckInPoint]
    infusions: list[relapse.InfusionPoint]
    decisions: list[relapse.Decision]
    open_request: BoosterRequest | None

    @property
    def open_point(self) -> relapse.OpenRequest | None:
        request = self.open_request
        if request is None:
            return None
        cited = frozenset(str(evidence.checkin_id) for evidence in request.evidence)
        return relapse.OpenRequest(str(request.id), request.urgency, cited)


def load_history(session: DbSession, patient_id: uuid.UUID) -> History:
    """Four queries: PHQ-9 check-ins, given infusions, declined or cancelled requests, the open request."""
    # CLINICAL.md §5 is a PHQ-9 rule: other instruments' totals are on another scale.
    checkins = session.execute(
        sa.select(CheckIn.id, CheckIn.taken_at, CheckIn.total).where(
            CheckIn.patient_id == patient_id, CheckIn.instrument == "phq9"
        )
    )
    # CLINICAL.md §5: the window follows the most recent infusion given, of any kind.
    infusions = session.execute(
        sa.select(Infusion.id, Infusion.given_at).where(
            Infusion.patient_id == patient_id, Infusion.status == "given", Infusion.given_at.is_not(None)
        )
    )
    # CLINICAL.md §5: a decline or cancellation holds back the evidence it saw; assess keeps this window's.
    decisions = session.execute(
        sa.select(BoosterRequest.id, BoosterRequest.decided_at, BoosterRequest.status).where(
            BoosterRequest.patient_id == patient_id,
            BoosterRequest.status.in_(relapse.BLOCKING_OUTCOMES),
            BoosterRequest.decided_at.is_not(None),
        )
    )
    open_request = session.scalar(
        sa.select(BoosterRequest).where(
            BoosterRequest.patient_id == patient_id, BoosterRequest.status.in_(OPEN_STATUSES)
        )
    )
    return History(
        checkins=[relapse.CheckInPoint(str(row.id), row.taken_at, row.total) for row in checkins],
        infusions=[relapse.InfusionPoint(str(row.id), row.given_at) for row in infusions],
        decisions=[relapse.Decision(str(row.id), row.decided_at, row.status) for row in decisions],
        open_request=open_request,
    )


def page_oncall(session: DbSession, clinic: Clinic, patient: Patient, request: BoosterRequest) -> bool:
    """Text the on-call contact (the backup when there is none) about an urgent request, once per request."""
    contact = clinic.oncall_contact
    if not contact:
        # The request and its alert still show on the dashboard; the operator must set a contact.
        log.warning(
            "clinic %s has no on-call or backup phone: urgent booster request %s not texted", clinic.id, request.id
        )
        return False
    try:
        # A SAVEPOINT: a text already queued for this request is skipped, and the patient's work goes on.
        with session.begin_nested():
            queue_sms(
                contact,
                messages.BOOSTER_URGENT_ONCALL.format(url=alerts.dashboard_url()),
                ONCALL_PURPOSE,
                patient_id=patient.id,
                clinic_id=clinic.id,
                critical=True,
                dedupe_key=f"{ONCALL_PURPOSE}:{request.id}",
            )
            session.flush()
    except sa.exc.IntegrityError:
        return False
    return True


def _raise(session: DbSession, clinic: Clinic, patient: Patient, action: relapse.Action) -> list[str]:
    """CLINICAL.md §5: a trigger raises a booster request, for the clinic to decide."""
    assert action.urgency is not None  # assess always gives a raise its urgency
    request = boosters.raise_request(patient, "scan", None, None, urgency=action.urgency, evidence_ids=action.evidence)
    alerts.open_attention_alert(
        patient, RAISED_REASONS[action.urgency], dedupe_key=f"booster-request:{request.id}", booster_request=request
    )
    done = [f"raised_{action.urgency}"]
    if action.urgency == relapse.URGENT and page_oncall(session, clinic, patient, request):
        done.append("oncall_texted")
    log.info("relapse scan: patient %s: %s booster request %s raised", patient.id, action.urgency, request.id)
    return done


def _add_evidence(
    session: DbSession, clinic: Clinic, patient: Patient, request: BoosterRequest, action: relapse.Action
) -> list[str]:
    """CLINICAL.md §5: an open request takes the new evidence; an urgent trigger makes a routine one urgent."""
    was_urgent = request.urgency == relapse.URGENT
    added = boosters.add_evidence(request, action.evidence, urgency=action.urgency)
    done = ["evidence_added"] if added else []
    if request.urgency == relapse.URGENT and not was_urgent:
        alerts.open_attention_alert(
            patient, MADE_URGENT_REASON, dedupe_key=f"booster-urgent:{request.id}", booster_request=request
        )
        done.append("made_urgent")
        if page_oncall(session, clinic, patient, request):
            done.append("oncall_texted")
    log.info("relapse scan: patient %s: %d check-ins added to booster request %s", patient.id, len(added), request.id)
    return done


def scan_patient(session: DbSession, patient_id: uuid.UUID) -> list[str]:
    """Claim, judge and act on one patient, in the caller's transaction; returns what it did, for the counts."""
    # The claim writes scanned_at = the changed_at it saw, under the claim's lock (see the module docstring).
    if not claims.claim(session, Patient.id, patient_id, scan_due(), {"scanned_at": Patient.changed_at}):
        return ["claimed_elsewhere"]
    patient = session.get(Patient, patient_id, populate_existing=True)
    assert patient is not None  # claimed just now
    clinic = session.get(Clinic, patient.clinic_id)
    assert clinic is not None  # a patient always has a clinic (foreign key)
    done = ["scanned"]
    thresholds = thresholds_of(clinic)
    if patient.phase in relapse.ELIGIBLE_PHASES:
        history = load_history(session, patient.id)
        assessment = relapse.assess(
            patient.phase, history.checkins, history.infusions, history.decisions, history.open_point, thresholds
        )
    else:
        # CLINICAL.md §5: only maintenance and as_needed; the others are only marked scanned.
        history = None
        assessment = relapse.assess(patient.phase, (), (), (), None, thresholds)
    action = assessment.action
    if action.kind == "raise":
        done += _raise(session, clinic, patient, action)
    elif action.kind == "add_evidence":
        assert history is not None and history.open_request is not None  # assess adds only to an open request
        done += _add_evidence(session, clinic, patient, history.open_request, action)
    # CLINICAL.md §5: a confirming check-in after a first unpaired signal; none awaited clears it.
    due = assessment.confirm_checkin_due
    if due != patient.confirm_checkin_due_at:
        patient.confirm_checkin_due_at = due
        done.append("confirm_asked" if due is not None else "confirm_cleared")
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
