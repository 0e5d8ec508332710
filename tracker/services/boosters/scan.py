"""Acting on the relapse rule's verdict (CLINICAL.md §5): the relapse-scan job's work.

The rule is `tracker.relapse.assess`; its inputs come from services/course/relapse_inputs.py; the request's
state machine is services/boosters/requests.py. Here: judge, raise a request with its attention alert (and
a text to on-call when urgent), add evidence to the open one, and set or clear the confirming check-in.

Two ways, one outcome: `judge_batch` judges many patients with a few queries and writes what they call for
together, for the scan's batches; `judge` does it for one patient through the request and alert services,
where a batch met a concurrent writer (a unique key taken, a stale version) and each patient goes alone.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from tracker import clock, local_time, relapse
from tracker.db import insert_once
from tracker.extensions import db
from tracker.models import Alert, BoosterEvidence, BoosterRequest, Clinic, Infusion, OutboundMessage, Patient
from tracker.models.base import new_id
from tracker.services.alerts import writes as alerts
from tracker.services.audit import trail as audit
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
# A booked request was decided: a severe check-in joins it as evidence but does not re-escalate it; the clinic is
# told once per request, with the day of the visit, so it can judge whether that day is soon enough.
SEVERE_BOOKED_REASON = "Severe symptoms: a severe check-in while a booster is booked for {day}. Please review."


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
class ClinicRules:
    """What the scan reads of a clinic, once per run: its thresholds and whom an urgent request is texted to."""

    thresholds: relapse.Thresholds
    oncall_contact: str | None
    timezone: str | None = None  # the clinic's zone, for the day of a booked visit


def booked_days(request_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """When each booked (scheduled) request's infusion is booked for, in one query."""
    if not request_ids:
        return {}
    rows = db.session.execute(
        sa.select(Infusion.booster_request_id, Infusion.scheduled_for).where(
            Infusion.booster_request_id.in_(request_ids),
            Infusion.status == "scheduled",
            Infusion.scheduled_for.is_not(None),
        )
    )
    return {request_id: at for request_id, at in rows if request_id is not None and at is not None}


def severe_booked_key(request: BoosterRequest) -> str:
    return f"booster-booked-severe:{request.id}"


def severe_booked_reason(booked_for: datetime | None, timezone: str | None) -> str:
    day = local_time.day(booked_for, local_time.zone_of(timezone)) if booked_for is not None else "a later day"
    return SEVERE_BOOKED_REASON.format(day=day)


def clinic_rules(clinic_ids: Collection[uuid.UUID], known: MutableMapping[uuid.UUID, ClinicRules]) -> None:
    """Add the clinics not yet in ``known``, in one query."""
    missing = set(clinic_ids) - set(known)
    if missing:
        for clinic in db.session.scalars(sa.select(Clinic).where(Clinic.id.in_(missing))):
            known[clinic.id] = ClinicRules(thresholds_of(clinic), clinic.oncall_contact, clinic.timezone)


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
    key = severe_key(patient, assessment)
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
    text = oncall_text(contact, patient, request)
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
    """CLINICAL.md §5: an open request takes the new evidence; an urgent trigger makes a routine one urgent,
    unless it is booked: then the clinic is told the visit's day instead."""
    was_urgent = request.urgency == relapse.URGENT
    booked = request.status == "scheduled"
    urgency = None if booked else action.urgency
    added = boosters.add_evidence(request, action.evidence, urgency=urgency)
    done = ["evidence_added"] if added else []
    if booked and action.urgency == relapse.URGENT:
        key = severe_booked_key(request)
        if db.session.scalar(sa.select(Alert.id).where(Alert.dedupe_key == key)) is None:
            reason = severe_booked_reason(booked_days([request.id]).get(request.id), clinic.timezone)
            alerts.open_attention_alert(patient, reason, cause="severe_symptoms", dedupe_key=key)
            done.append("severe_alerted")
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


@dataclass
class _Batch:
    """The rows a batch's verdicts call for, written together at the end (see `judge_batch`)."""

    rules: Mapping[uuid.UUID, ClinicRules]
    now: datetime = field(default_factory=clock.now)
    requests: list[BoosterRequest] = field(default_factory=list)
    rows: list[object] = field(default_factory=list)
    taken_alerts: set[str] = field(default_factory=set)
    taken_texts: set[str] = field(default_factory=set)
    patients: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)  # columns to write, per patient
    urgent: list[BoosterRequest] = field(default_factory=list)  # open requests made urgent
    booked_for: dict[uuid.UUID, datetime] = field(default_factory=dict)  # booked requests' visits

    def set(self, patient: Patient, **columns: Any) -> None:
        """Write these columns of the patient with the batch; the loaded object shows them at once."""
        self.patients.setdefault(patient.id, {}).update(columns)
        for name, value in columns.items():
            set_committed_value(patient, name, value)

    def write(self) -> None:
        """Everything at once: each table's new rows in one multi-row INSERT, each kind of update in one
        executemany. The requests first: their alerts point at them."""
        db.session.add_all(self.requests)
        db.session.flush()
        db.session.add_all(self.rows)
        db.session.flush()
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for patient_id, columns in self.patients.items():
            by_columns[tuple(sorted(columns))].append({"id": patient_id, **columns})
        for rows in by_columns.values():
            db.session.execute(sa.update(Patient), rows)
        if self.urgent:
            # As the request's version column does for one: a clinician's decision meanwhile fails the batch.
            table = cast(sa.Table, BoosterRequest.__table__)
            made = db.session.execute(
                sa.update(table)
                .where(table.c.id == sa.bindparam("request_id"), table.c.version == sa.bindparam("seen"))
                .values(urgency=relapse.URGENT, version=sa.bindparam("seen") + 1),
                [{"request_id": request.id, "seen": request.version} for request in self.urgent],
            )
            if cast(sa.CursorResult[Any], made).rowcount != len(self.urgent):
                raise StaleDataError("a booster request changed while the scan judged it")
            for request in self.urgent:
                set_committed_value(request, "version", request.version + 1)

    def alert(self, patient: Patient, reason: str, cause: str, key: str, request: BoosterRequest | None) -> bool:
        """As alerts.open_attention_alert: an attention alert, once per key."""
        if key in self.taken_alerts:
            return False
        self.taken_alerts.add(key)
        self.rows.append(
            Alert(
                patient_id=patient.id,
                clinic_id=patient.clinic_id,
                kind="attention",
                cause=cause,
                reason=reason,
                booster_request_id=request.id if request is not None else None,
                dedupe_key=key,
                status="open",
                raised_at=self.now,
            )
        )
        return True

    def page(self, patient: Patient, request: BoosterRequest) -> bool:
        """As `page_oncall`: the on-call contact (else the backup) texted about an urgent request, once."""
        contact = self.rules[patient.clinic_id].oncall_contact
        if not contact:
            log.warning(
                "clinic %s has no on-call or backup phone: urgent booster request %s not texted",
                patient.clinic_id,
                request.id,
            )
            return False
        key = f"{ONCALL_PURPOSE}:{request.id}"
        if key in self.taken_texts:
            return False
        self.taken_texts.add(key)
        self.rows.append(oncall_text(contact, patient, request))
        return True

    def raise_(self, patient: Patient, action: relapse.Action) -> list[str]:
        """As `_raise` with boosters.raise_request: the request, its evidence, the audit row, its alert."""
        assert action.urgency is not None  # assess always gives a raise its urgency
        evidence = [uuid.UUID(checkin_id) for checkin_id in action.evidence]
        request = BoosterRequest(
            id=new_id(),
            patient_id=patient.id,
            clinic_id=patient.clinic_id,
            status="open",
            urgency=action.urgency,
            raised_by="scan",
            raised_at=self.now,
            evidence=[BoosterEvidence(checkin_id=checkin_id, added_at=self.now) for checkin_id in evidence],
        )
        self.requests.append(request)
        self.set(patient, changed_at=self.now)  # as any new request: the next run reads the patient again
        audit.record(
            None,
            "booster.raise",
            patient=patient,
            target_type="booster_request",
            target_id=request.id,
            detail={"raised_by": "scan", "urgency": action.urgency, "evidence": [str(i) for i in evidence]},
        )
        key = f"booster-request:{request.id}"
        self.alert(patient, RAISED_REASONS[action.urgency], "booster_raised", key, request)
        done = [f"raised_{action.urgency}"]
        if action.urgency == relapse.URGENT and self.page(patient, request):
            done.append("oncall_texted")
        log.info("relapse scan: patient %s: %s booster request %s raised", patient.id, action.urgency, request.id)
        return done

    def add_evidence(self, patient: Patient, request: BoosterRequest, action: relapse.Action) -> list[str]:
        """As `_add_evidence` with boosters.add_evidence: new check-ins cited, urgent when called for."""
        was_urgent = request.urgency == relapse.URGENT
        cited = {evidence.checkin_id for evidence in request.evidence}
        new = [i for i in dict.fromkeys(uuid.UUID(checkin_id) for checkin_id in action.evidence) if i not in cited]
        booked = request.status == "scheduled"
        upgrade = action.urgency == relapse.URGENT and not was_urgent and not booked
        done: list[str] = []
        if booked and action.urgency == relapse.URGENT:
            reason = severe_booked_reason(self.booked_for.get(request.id), self.rules[patient.clinic_id].timezone)
            if self.alert(patient, reason, "severe_symptoms", severe_booked_key(request), None):
                done.append("severe_alerted")
        if not new and not upgrade:
            return done
        request.evidence.extend(BoosterEvidence(checkin_id=i, added_at=self.now) for i in new)
        if upgrade:
            self.urgent.append(request)
            set_committed_value(request, "urgency", relapse.URGENT)
        audit.record(
            None,
            "booster.evidence",
            patient=patient,
            target_type="booster_request",
            target_id=request.id,
            detail={"added": [str(i) for i in new], "urgency": request.urgency},
        )
        done += ["evidence_added"] if new else []
        if upgrade:
            self.alert(patient, MADE_URGENT_REASON, "booster_made_urgent", f"booster-urgent:{request.id}", request)
            done.append("made_urgent")
            if self.page(patient, request):
                done.append("oncall_texted")
        log.info("relapse scan: patient %s: %d check-ins added to booster request %s", patient.id, len(new), request.id)
        return done

    def severe(self, patient: Patient, assessment: relapse.Assessment) -> list[str]:
        """As `_severe_alert`."""
        if not self.alert(patient, SEVERE_REASON, "severe_symptoms", severe_key(patient, assessment), None):
            return []
        log.info("relapse scan: patient %s: severe symptoms alert opened", patient.id)
        return ["severe_alerted"]


def severe_key(patient: Patient, assessment: relapse.Assessment) -> str:
    """CLINICAL.md §5: the severe-symptoms alert opens once per window."""
    start = assessment.window_start.isoformat() if assessment.window_start is not None else "none"
    return f"severe-symptoms:{patient.id}:{start}"


def oncall_text(contact: str, patient: Patient, request: BoosterRequest) -> OutboundMessage:
    """The text to on-call about an urgent request: no patient detail, only the dashboard's address."""
    return new_sms(
        contact,
        messages.BOOSTER_URGENT_ONCALL.format(url=alerts.dashboard_url()),
        ONCALL_PURPOSE,
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        critical=True,
        dedupe_key=f"{ONCALL_PURPOSE}:{request.id}",
    )


def assess_all(
    patients: Sequence[Patient], rules: Mapping[uuid.UUID, ClinicRules]
) -> list[tuple[Patient, relapse_inputs.RelapseInputs | None, relapse.Assessment]]:
    """Each patient's verdict (CLINICAL.md §5), their inputs read for the whole batch at once."""
    inputs = relapse_inputs.load_windows([p.id for p in patients if p.phase in relapse.ELIGIBLE_PHASES])
    verdicts = []
    for patient in patients:
        thresholds = rules[patient.clinic_id].thresholds
        got = inputs.get(patient.id)
        if got is None:
            # CLINICAL.md §5: only maintenance and as_needed; the others are only marked scanned.
            assessment = relapse.assess(patient.phase, (), (), (), None, thresholds)
        else:
            assessment = relapse.assess(
                patient.phase, got.checkins, got.infusions, got.decisions, got.open_point, thresholds
            )
        verdicts.append((patient, got, assessment))
    return verdicts


def judge_batch(patients: Sequence[Patient], rules: Mapping[uuid.UUID, ClinicRules]) -> dict[uuid.UUID, list[str]]:
    """Judge many patients and act on every verdict, in the caller's unit of work, with a few statements in all.

    The same rows as `judge` for each patient alone. The keys that make an alert or a text once-only are
    checked together beforehand; one taken meanwhile by another writer fails the flush, and the caller's
    unit with it (the caller then judges each patient alone). Returns what was done, per patient.
    """
    verdicts = assess_all(patients, rules)
    batch = _Batch(rules)
    alert_keys = [severe_key(p, a) for p, _, a in verdicts if a.severe_alert is not None]
    text_keys = []
    booked = []
    for _, got, assessment in verdicts:
        if assessment.action.kind == "add_evidence" and got is not None and got.open_request is not None:
            alert_keys.append(f"booster-urgent:{got.open_request.id}")
            text_keys.append(f"{ONCALL_PURPOSE}:{got.open_request.id}")
            if got.open_request.status == "scheduled":
                alert_keys.append(severe_booked_key(got.open_request))
                booked.append(got.open_request.id)
    batch.booked_for = booked_days(booked)
    if alert_keys:
        batch.taken_alerts.update(
            db.session.scalars(sa.select(Alert.dedupe_key).where(Alert.dedupe_key.in_(alert_keys)))
        )
    if text_keys:
        query = sa.select(OutboundMessage.dedupe_key).where(OutboundMessage.dedupe_key.in_(text_keys))
        batch.taken_texts.update(key for key in db.session.scalars(query) if key is not None)
    done: dict[uuid.UUID, list[str]] = {}
    for patient, got, assessment in verdicts:
        did = ["scanned"]
        action = assessment.action
        if action.kind == "raise":
            did += batch.raise_(patient, action)
        elif action.kind == "add_evidence":
            assert got is not None and got.open_request is not None  # assess adds only to an open request
            did += batch.add_evidence(patient, got.open_request, action)
        if assessment.severe_alert is not None:
            did += batch.severe(patient, assessment)
        # CLINICAL.md §5: a confirming check-in after a first unpaired signal; none awaited clears it.
        due = assessment.confirm_checkin_due
        if due != patient.confirm_checkin_due_at:
            batch.set(patient, confirm_checkin_due_at=due)
            did.append("confirm_asked" if due is not None else "confirm_cleared")
        done[patient.id] = did
    batch.write()
    return done
