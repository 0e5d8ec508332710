"""Opening and handling alerts: safety (CLINICAL.md §3) with its texts to on-call, attention alerts once per key."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app

from tracker import clock
from tracker.db import insert_once
from tracker.errors import Conflict, FieldProblem, Invalid, NotFound
from tracker.extensions import db
from tracker.instruments import PHQ9
from tracker.models import Alert, AlertCheckIn, BoosterRequest, CheckIn, Clinic, Patient, User
from tracker.models.alert import ALERT_CAUSES, RISK_LEVELS, UNRESOLVED_STATUSES
from tracker.services import scope
from tracker.services.alerts import risk_flag
from tracker.services.alerts import screener as screener_rule
from tracker.services.audit import trail as audit
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import queue_sms

log = logging.getLogger(__name__)


SAFETY_REASON = "PHQ-9 item 9 answered above 0"
SAFETY_REPLY_REASON = "Replied in words at PHQ-9 item 9 (thoughts of death or self-harm)"
REPLY_MAX = 2000  # Alert.reply_text


PATIENT_REQUEST_REASON = "The patient asked for a booster infusion."


REASON_MAX = 300  # Alert.reason


ATTENTION_CAUSES = tuple(cause for cause in ALERT_CAUSES if cause != "safety")


NOTE_MAX = 2000  # Alert.note


def dashboard_url() -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/clinic/"


def _unresolved_safety_alert(patient_id: uuid.UUID) -> Alert | None:
    """The patient's one unresolved safety alert (CLINICAL.md §3), locked for this transaction."""
    return db.session.scalar(
        sa.select(Alert)
        .where(Alert.patient_id == patient_id, Alert.kind == "safety", Alert.status.in_(UNRESOLVED_STATUSES))
        .with_for_update()
    )


def _safety_alert_for(patient: Patient, clinic: Clinic, checkin: CheckIn | None, now: datetime) -> tuple[Alert, bool]:
    """The patient's unresolved safety alert, or a new one: (alert, opened now)."""
    existing = _unresolved_safety_alert(patient.id)
    if existing is not None:
        return existing, False
    deadline = now + timedelta(minutes=clinic.safety_ack_minutes)
    alert = Alert(
        patient_id=patient.id,
        clinic_id=clinic.id,
        kind="safety",
        cause="safety",
        reason=SAFETY_REASON if checkin is not None else SAFETY_REPLY_REASON,
        checkin_id=checkin.id if checkin is not None else None,
        status="open",
        raised_at=now,
        deadline=deadline,
        escalate_at=deadline,
        escalation_step=0,
    )
    if insert_once(db.session, alert):
        return alert, True
    # Lost a race to the one-open-safety-alert index: this event joins the winner.
    existing = _unresolved_safety_alert(patient.id)
    if existing is None:
        raise RuntimeError(f"safety alert for patient {patient.id} could be neither opened nor found")
    return existing, False


def _tell_oncall(clinic: Clinic, patient: Patient, alert: Alert, dedupe_key: str | None) -> None:
    contact = clinic.oncall_contact
    if contact:
        queue_sms(
            contact,
            messages.SAFETY_ONCALL.format(url=dashboard_url()),
            "safety_oncall",
            clinic_id=clinic.id,
            patient_id=patient.id,
            critical=True,
            dedupe_key=dedupe_key,
        )
    else:
        # The alert still shows on the dashboard; the operator must set a contact.
        log.warning("clinic %s has no on-call or backup phone: safety alert %s not texted", clinic.id, alert.id)


def open_safety_alert(patient: Patient, checkin: CheckIn) -> Alert:
    """CLINICAL.md §3: a positive item 9 opens a safety alert and tells the on-call contact at once.

    One open safety alert per patient: while one is unresolved, the check-in joins it (listed with the others,
    the highest answer kept); no second alert is made to acknowledge. The on-call contact is texted again only
    when the joining answer is higher than the alert's highest so far: the same answer again is news for the
    alert's page, not another page to the on-call phone (a reply in words over SMS always texts: see
    open_safety_reply).
    """
    now = clock.now()
    clinic = db.session.get(Clinic, patient.clinic_id)
    assert clinic is not None  # a patient always has a clinic (foreign key)
    alert, opened = _safety_alert_for(patient, clinic, checkin, now)
    item9 = _item9_of(checkin)
    if db.session.get(AlertCheckIn, (alert.id, checkin.id)) is None:
        db.session.add(AlertCheckIn(alert_id=alert.id, checkin_id=checkin.id, item9=item9, added_at=now))
    # An alert opened by a reply in words has no answer yet: any number joining it is higher.
    higher = alert.highest_item9 is None or item9 > alert.highest_item9
    if higher:
        alert.highest_item9 = item9
    db.session.flush()
    if opened:
        _tell_oncall(clinic, patient, alert, f"safety-oncall:{alert.id}")
    elif higher:
        _tell_oncall(clinic, patient, alert, f"safety-oncall:{alert.id}:{checkin.id}")
    return alert


def open_safety_reply(patient: Patient, reply: str) -> Alert:
    """CLINICAL.md §3 over SMS: a reply at item 9 that is not 0-3 is a possible disclosure.

    It opens (or joins) the patient's safety alert with the reply's words kept on it for staff to read, and the
    on-call contact is told at once. The words go nowhere else: no log line, no text, no audit detail.
    """
    now = clock.now()
    clinic = db.session.get(Clinic, patient.clinic_id)
    assert clinic is not None  # a patient always has a clinic (foreign key)
    alert, opened = _safety_alert_for(patient, clinic, None, now)
    words = " ".join(reply.split())
    joined = f"{alert.reply_text}\n{words}" if alert.reply_text else words
    alert.reply_text = joined if len(joined) <= REPLY_MAX else joined[: REPLY_MAX - 1] + "…"
    db.session.flush()
    _tell_oncall(clinic, patient, alert, f"safety-oncall:{alert.id}" if opened else None)
    return alert


def _item9_of(checkin: CheckIn) -> int:
    item = PHQ9.safety_item
    if item is None or len(checkin.answers) < item:
        return 0
    return int(checkin.answers[item - 1])


def _by_dedupe_key(dedupe_key: str) -> Alert | None:
    return db.session.scalar(sa.select(Alert).where(Alert.dedupe_key == dedupe_key))


def new_attention_alert(
    patient_id: uuid.UUID, clinic_id: uuid.UUID, reason: str, *, cause: str, dedupe_key: str | None = None
) -> Alert:
    """An open attention alert, not yet added: for a job's bulk insert that skips taken dedupe keys."""
    if cause not in ATTENTION_CAUSES:
        raise ValueError(f"not a cause of an attention alert: {cause!r}")
    reason = reason.strip()
    if not reason:
        raise Invalid.one("reason", "an alert needs a reason")
    if len(reason) > REASON_MAX:
        # Reasons are written by jobs, some quoting an error: shorten one rather than fail the job.
        reason = reason[: REASON_MAX - 1] + "…"
    return Alert(
        patient_id=patient_id,
        clinic_id=clinic_id,
        kind="attention",
        cause=cause,
        reason=reason,
        dedupe_key=dedupe_key,
        status="open",
        raised_at=clock.now(),
    )


def open_attention_alert(
    patient: Patient,
    reason: str,
    *,
    cause: str,
    dedupe_key: str | None = None,
    booster_request: BoosterRequest | None = None,
) -> Alert:
    """Open an attention alert: its cause is one of ATTENTION_CAUSES (a patient's request, missed check-ins, ...).

    With a dedupe_key the alert opens once: a second call, even a concurrent one, gets the first.
    """
    if dedupe_key is not None and (existing := _by_dedupe_key(dedupe_key)) is not None:
        return existing
    alert = new_attention_alert(patient.id, patient.clinic_id, reason, cause=cause, dedupe_key=dedupe_key)
    alert.booster_request_id = booster_request.id if booster_request is not None else None
    if insert_once(db.session, alert):
        return alert
    # Lost a race to the unique dedupe_key: the caller's transaction goes on with the winner.
    existing = _by_dedupe_key(dedupe_key) if dedupe_key is not None else None
    if existing is None:
        raise RuntimeError(f"attention alert for patient {patient.id} could be neither opened nor found")
    return existing


def _note(field: str, text: str | None, problems: list[FieldProblem]) -> str | None:
    text = (text or "").strip() or None
    if text is not None and len(text) > NOTE_MAX:
        problems.append(FieldProblem(field, f"at most {NOTE_MAX} characters"))
    return text


def _require_same_clinic(alert: Alert, by: User) -> None:
    scope.require_staff(by)
    if alert.clinic_id != by.clinic_id:
        raise NotFound("No such alert.")


def _changed(result: sa.Result[Any]) -> bool:
    return cast(sa.CursorResult[Any], result).rowcount == 1


def acknowledge(alert: Alert, by: User, note: str | None = None, risk_level: str | None = None) -> Alert:
    """A clinician takes charge of an alert ("I am on it"): who, when, an optional note; escalation stops.

    CLINICAL.md §3: no risk level is needed (a safety alert's documented one is recorded when it is resolved);
    one already known may be given. Two clinicians acknowledging at once: the conditional update
    lets one win; the other gets Conflict.
    """
    _require_same_clinic(alert, by)
    if alert.status != "open":
        raise Conflict("This alert has already been acknowledged.")
    problems: list[FieldProblem] = []
    note = _note("note", note, problems)
    if risk_level is not None and risk_level not in RISK_LEVELS:
        problems.append(FieldProblem("risk_level", "choose low, moderate or high"))
    if problems:
        raise Invalid(problems)
    now = clock.now()
    result = db.session.execute(
        sa.update(Alert)
        .where(Alert.id == alert.id, Alert.status == "open")
        .values(
            status="acknowledged",
            acknowledged_by_id=by.id,
            acknowledged_at=now,
            note=note,
            risk_level=risk_level,
            escalate_at=None,  # CLINICAL.md §3: acknowledging stops the escalation
        )
        .execution_options(synchronize_session=False)
    )
    if not _changed(result):
        raise Conflict("Someone else acknowledged this alert first.")
    return _recorded(alert, by, "alert.acknowledge", risk_level)


def below_suggestion(risk_level: str | None, suggested: str | None) -> bool:
    """CLINICAL.md §7: the clinician documents a level lower than the screener's triage suggests.

    The clinician may change the suggestion, but a lower level is the one that closes a follow-up early, so it
    needs its reason written down. `suggested` is always computed here from the answers, never taken from a page.
    """
    if risk_level not in RISK_LEVELS or suggested not in RISK_LEVELS:
        return False
    return RISK_LEVELS.index(risk_level) < RISK_LEVELS.index(suggested)


def resolve(
    alert: Alert,
    by: User,
    risk_level: str | None,
    action: str | None = None,
    note: str | None = None,
    *,
    screener: Mapping[str, Any] | None = None,
    screener_not_done: str | None = None,
) -> Alert:
    """Close an alert with its follow-up: for a safety alert the documented risk level (CLINICAL.md §3),
    what was done and a note, and the C-SSRS screener's answers with the level they suggest or why it was not
    asked, one of the two always (CLINICAL.md §7; tracker/services/alerts/screener.py).

    An alert not yet acknowledged is acknowledged by the same person at the same moment (who took charge).
    """
    _require_same_clinic(alert, by)
    if alert.status == "resolved":
        raise Conflict("This alert has already been resolved.")
    asked, problems = screener_rule.check(alert.kind, screener, screener_not_done)
    action = _note("action", action, problems)
    note = _note("note", note, problems)
    if risk_level is not None and risk_level not in RISK_LEVELS:
        problems.append(FieldProblem("risk_level", "choose low, moderate or high"))
    elif risk_level is None and alert.kind == "safety":
        # CLINICAL.md §3: resolving a positive item 9 records the documented risk level.
        problems.append(FieldProblem("risk_level", "required for a safety alert: low, moderate or high"))
    elif below_suggestion(risk_level, asked.suggested) and note is None:
        problems.append(
            FieldProblem("note", f"the screener suggests {asked.suggested} risk: say why you document {risk_level}")
        )
    if problems:
        raise Invalid(problems)
    now = clock.now()
    result = db.session.execute(
        sa.update(Alert)
        .where(Alert.id == alert.id, Alert.status.in_(UNRESOLVED_STATUSES))
        .values(
            status="resolved",
            resolved_by_id=by.id,
            resolved_at=now,
            risk_level=risk_level if risk_level is not None else Alert.risk_level,
            action=action,
            resolution_note=note,
            screener=asked.answers if asked.answers is not None else sa.null(),  # SQL NULL, not JSON null
            screener_suggested=asked.suggested,
            screener_not_done=asked.not_done,
            acknowledged_by_id=sa.func.coalesce(Alert.acknowledged_by_id, by.id),
            acknowledged_at=sa.func.coalesce(Alert.acknowledged_at, now),
            escalate_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if not _changed(result):
        raise Conflict("Someone else resolved this alert first.")
    risk_flag.after_resolve(alert, risk_level, now)
    return _recorded(alert, by, "alert.resolve", risk_level)


def _recorded(alert: Alert, by: User, action: str, risk_level: str | None) -> Alert:
    """After a conditional UPDATE: the alert read back (the ORM's own sync skips attributes it never loaded)
    and the step written to the audit log."""
    db.session.refresh(alert)
    patient = db.session.get(Patient, alert.patient_id)
    audit.record(
        by,
        action,
        patient=patient,
        target_type="alert",
        target_id=alert.id,
        detail={"kind": alert.kind, "risk_level": risk_level},
    )
    db.session.flush()
    return alert
