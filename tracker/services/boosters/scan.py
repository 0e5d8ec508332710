"""Acting on the relapse rule's verdict for one patient (CLINICAL.md §5): the relapse-scan job's work.

The rule is `tracker.relapse.assess`; its inputs come from services/course/relapse_inputs.py; the request's
state machine is services/boosters/requests.py. Here: judge, raise a request with its attention alert (and
a text to on-call when urgent), add evidence to the open one, and set or clear the confirming check-in.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from tracker import relapse
from tracker.db import insert_once
from tracker.extensions import db
from tracker.models import Alert, BoosterRequest, Clinic, Patient
from tracker.services.alerts import writes as alerts
from tracker.services.boosters import requests as boosters
from tracker.services.course import relapse_inputs
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import new_sms

log = logging.getLogger(__name__)

ONCALL_PURPOSE = "booster_urgent_oncall"
RAISED_REASONS = {
    relapse.ROUTINE: "Returning symptoms: two raised check-ins in a row. A booster request awaits your decision.",
    relapse.URGENT: "Returning symptoms: a severe check-in. An urgent booster request awaits your decision.",
}
MADE_URGENT_REASON = "Returning symptoms: a severe check-in made the open booster request urgent."
SEVERE_REASON = "Severe symptoms: a severe check-in that raised no booster request. Please review."


def thresholds_of(clinic: Clinic) -> relapse.Thresholds:
    """CLINICAL.md §5: every threshold is the clinic's own setting."""
    return relapse.Thresholds(
        signal_min_total=clinic.signal_min_total,
        signal_min_rise=clinic.signal_min_rise,
        confirm_min_days=clinic.confirm_min_days,
        confirm_max_days=clinic.confirm_max_days,
        urgent_min_total=clinic.urgent_min_total,
    )


def judge(patient: Patient, clinic: Clinic) -> list[str]:
    """Judge one patient and act on the verdict, in the caller's unit of work; returns what it did, for counts."""
    done = ["scanned"]
    thresholds = thresholds_of(clinic)
    if patient.phase in relapse.ELIGIBLE_PHASES:
        inputs = relapse_inputs.load_one(patient.id)
        assessment = relapse.assess(
            patient.phase, inputs.checkins, inputs.infusions, inputs.decisions, inputs.open_point, thresholds
        )
    else:
        # CLINICAL.md §5: only maintenance and as_needed; the others are only marked scanned.
        inputs = None
        assessment = relapse.assess(patient.phase, (), (), (), None, thresholds)
    action = assessment.action
    if action.kind == "raise":
        done += _raise(clinic, patient, action)
    elif action.kind == "add_evidence":
        assert inputs is not None and inputs.open_request is not None  # assess adds only to an open request
        done += _add_evidence(clinic, patient, inputs.open_request, action)
    if assessment.severe_alert is not None:
        done += _severe_alert(patient, assessment)
    # CLINICAL.md §5: a confirming check-in after a first unpaired signal; none awaited clears it.
    due = assessment.confirm_checkin_due
    if due != patient.confirm_checkin_due_at:
        patient.confirm_checkin_due_at = due
        done.append("confirm_asked" if due is not None else "confirm_cleared")
    return done


def _severe_alert(patient: Patient, assessment: relapse.Assessment) -> list[str]:
    """CLINICAL.md §5: severe without a trigger and no request open: an attention alert, once per window."""
    start = assessment.window_start.isoformat() if assessment.window_start is not None else "none"
    key = f"severe-symptoms:{patient.id}:{start}"
    if db.session.scalar(sa.select(Alert.id).where(Alert.dedupe_key == key)) is not None:
        return []
    alerts.open_attention_alert(patient, SEVERE_REASON, cause="severe_symptoms", dedupe_key=key)
    log.info("relapse scan: patient %s: severe symptoms alert opened", patient.id)
    return ["severe_alerted"]


def page_oncall(clinic: Clinic, patient: Patient, request: BoosterRequest) -> bool:
    """Text the on-call contact (the backup when there is none) about an urgent request, once per request."""
    contact = clinic.oncall_contact
    if not contact:
        # The request and its alert still show on the dashboard; the operator must set a contact.
        log.warning(
            "clinic %s has no on-call or backup phone: urgent booster request %s not texted", clinic.id, request.id
        )
        return False
    text = new_sms(
        contact,
        messages.BOOSTER_URGENT_ONCALL.format(url=alerts.dashboard_url()),
        ONCALL_PURPOSE,
        patient_id=patient.id,
        clinic_id=clinic.id,
        critical=True,
        dedupe_key=f"{ONCALL_PURPOSE}:{request.id}",
    )
    # A text already queued for this request is skipped, and the patient's work goes on.
    return insert_once(db.session, text)


def _raise(clinic: Clinic, patient: Patient, action: relapse.Action) -> list[str]:
    """CLINICAL.md §5: a trigger raises a booster request, for the clinic to decide."""
    assert action.urgency is not None  # assess always gives a raise its urgency
    request = boosters.raise_request(patient, "scan", None, None, urgency=action.urgency, evidence_ids=action.evidence)
    alerts.open_attention_alert(
        patient,
        RAISED_REASONS[action.urgency],
        cause="booster_raised",
        dedupe_key=f"booster-request:{request.id}",
        booster_request=request,
    )
    done = [f"raised_{action.urgency}"]
    if action.urgency == relapse.URGENT and page_oncall(clinic, patient, request):
        done.append("oncall_texted")
    log.info("relapse scan: patient %s: %s booster request %s raised", patient.id, action.urgency, request.id)
    return done


def _add_evidence(clinic: Clinic, patient: Patient, request: BoosterRequest, action: relapse.Action) -> list[str]:
    """CLINICAL.md §5: an open request takes the new evidence; an urgent trigger makes a routine one urgent."""
    was_urgent = request.urgency == relapse.URGENT
    added = boosters.add_evidence(request, action.evidence, urgency=action.urgency)
    done = ["evidence_added"] if added else []
    if request.urgency == relapse.URGENT and not was_urgent:
        alerts.open_attention_alert(
            patient,
            MADE_URGENT_REASON,
            cause="booster_made_urgent",
            dedupe_key=f"booster-urgent:{request.id}",
            booster_request=request,
        )
        done.append("made_urgent")
        if page_oncall(clinic, patient, request):
            done.append("oncall_texted")
    log.info("relapse scan: patient %s: %d check-ins added to booster request %s", patient.id, len(added), request.id)
    return done
