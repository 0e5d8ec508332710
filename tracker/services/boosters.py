"""Booster infusion requests (API.md, CLINICAL.md §5): raising them, the clinic's decisions, completion.

A request asks the clinic to decide; it is never an order. Each decision is one move in
TRANSITIONS; any other is a Conflict naming both states. Two clinicians deciding at once are
told apart by the request's version column: the second to write gets a Conflict.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from tracker import clock
from tracker.extensions import db
from tracker.models import BoosterEvidence, BoosterRequest, CheckIn, Infusion, OutboundMessage, Patient, User
from tracker.models.booster import OPEN_STATUSES, RAISED_BY, REQUEST_STATUSES, URGENCIES
from tracker.services import alerts, audit, scope
from tracker.services.errors import Conflict, FieldProblem, Forbidden, Invalid, NotFound
from tracker.services.outbox import queue_sms
from tracker.sms import messages

# API.md: the only moves a request can make, as (from, to).
TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("open", "approved"),
        ("open", "scheduled"),  # approve and schedule in one step
        ("approved", "scheduled"),
        ("open", "declined"),
        ("approved", "declined"),  # once booked, the way back is cancel
        ("open", "cancelled"),
        ("approved", "cancelled"),
        ("scheduled", "cancelled"),  # its scheduled infusion is cancelled with it
        # CLINICAL.md §5: any infusion given while a request is open completes it.
        ("open", "completed"),
        ("approved", "completed"),
        ("scheduled", "completed"),
    }
)

STALE = "Someone else decided this request first; reload it and try again."
PATIENT_REASON_MAX = 500  # BoosterRequest.patient_reason
DECISION_TEXT_MAX = 1000  # BoosterRequest.reason and .note
# The audit action each decision writes.
ACTIONS = {
    "approved": "booster.approve",
    "scheduled": "booster.schedule",
    "declined": "booster.decline",
    "cancelled": "booster.cancel",
}


@dataclass(frozen=True)
class ScheduleResult:
    request: BoosterRequest
    infusion: Infusion
    message: OutboundMessage | None  # None when the patient opted out of SMS


def _check_transition(request: BoosterRequest, to_status: str) -> None:
    if (request.status, to_status) not in TRANSITIONS:
        raise Conflict(f"A booster request that is {request.status} cannot become {to_status}.")


@contextmanager
def _versioned() -> Iterator[None]:
    """Write a decision inside a SAVEPOINT; a stale version (someone decided first) becomes Conflict."""
    try:
        with db.session.begin_nested():
            yield
    except StaleDataError:
        raise Conflict(STALE) from None


def _patient(request: BoosterRequest) -> Patient:
    patient = db.session.get(Patient, request.patient_id)
    assert patient is not None  # a request always has a patient (foreign key)
    return patient


def _require_decider(request: BoosterRequest, by: User) -> None:
    scope.require_staff(by)
    if request.clinic_id != by.clinic_id:
        raise NotFound("No such booster request.")


def _text(field: str, value: str | None, limit: int, required: bool) -> str | None:
    text = (value or "").strip() or None
    if text is None and required:
        raise Invalid.one(field, "required")
    if text is not None and len(text) > limit:
        raise Invalid.one(field, f"at most {limit} characters")
    return text


def _checkin_ids(patient_id: uuid.UUID, ids: Iterable[str | uuid.UUID]) -> list[uuid.UUID]:
    """The ids as UUIDs, in order without repeats, each one a check-in of this patient."""
    wanted: list[uuid.UUID] = []
    for raw in ids:
        try:
            parsed = raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))
        except ValueError:
            raise Invalid.one("evidence", f"{raw!r} is not a check-in id") from None
        if parsed not in wanted:
            wanted.append(parsed)
    if wanted:
        found = set(
            db.session.scalars(sa.select(CheckIn.id).where(CheckIn.patient_id == patient_id, CheckIn.id.in_(wanted)))
        )
        if missing := [str(i) for i in wanted if i not in found]:
            raise Invalid.one("evidence", f"not check-ins of this patient: {', '.join(missing)}")
    return wanted


def open_request_for(patient_id: uuid.UUID) -> BoosterRequest | None:
    """The patient's open request (open, approved or scheduled), if any; there is at most one."""
    return db.session.scalar(
        sa.select(BoosterRequest).where(
            BoosterRequest.patient_id == patient_id, BoosterRequest.status.in_(OPEN_STATUSES)
        )
    )


def raise_request(
    patient: Patient,
    raised_by: str,
    by: User | None,
    reason: str | None,
    urgency: str = "routine",
    evidence_ids: Sequence[str | uuid.UUID] = (),
) -> BoosterRequest:
    """Open a booster request for the clinic to decide; Conflict when the patient already has one open.

    A patient-raised request also opens an attention alert, so the clinic sees it.
    """
    problems = []
    if raised_by not in RAISED_BY:
        problems.append(FieldProblem("raised_by", "use scan, patient or clinician"))
    if urgency not in URGENCIES:
        problems.append(FieldProblem("urgency", "use routine or urgent"))
    if problems:
        raise Invalid(problems)
    if raised_by == "clinician":
        if by is None:
            raise Invalid.one("by", "a clinician-raised request needs the clinician")
        scope.require_staff(by)
        if by.clinic_id != patient.clinic_id:
            raise NotFound("No such patient.")
    if raised_by == "patient" and by is not None and by.id != patient.user_id:
        raise Forbidden("A patient raises a request only for themselves.")
    # The scan cites its check-ins; people give their words.
    text = _text("reason", reason, PATIENT_REASON_MAX, required=raised_by != "scan")
    checkin_ids = _checkin_ids(patient.id, evidence_ids)
    # CLINICAL.md §5 and API.md: one open request per patient.
    if open_request_for(patient.id) is not None:
        raise Conflict("This patient already has an open booster request.")
    now = clock.now()
    request = BoosterRequest(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        status="open",
        urgency=urgency,
        raised_by=raised_by,
        raised_by_user_id=by.id if by is not None else None,
        raised_at=now,
        patient_reason=text,
        evidence=[BoosterEvidence(checkin_id=i, added_at=now) for i in checkin_ids],
    )
    try:
        # Two clicks or two scans at once: the unique index keeps one; the loser gets Conflict.
        with db.session.begin_nested():
            db.session.add(request)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict("This patient already has an open booster request.") from None
    patient.changed_at = now
    if raised_by == "patient":
        alerts.open_attention_alert(
            patient, alerts.PATIENT_REQUEST_REASON, dedupe_key=f"booster-request:{request.id}", booster_request=request
        )
    audit.record(
        by,
        "booster.raise",
        patient=patient,
        target_type="booster_request",
        target_id=request.id,
        detail={"raised_by": raised_by, "urgency": urgency, "evidence": [str(i) for i in checkin_ids]},
    )
    db.session.flush()
    return request


def _decide(
    request: BoosterRequest, to_status: str, by: User, now: datetime, detail: dict[str, Any] | None = None
) -> None:
    """Move the request (inside `_versioned`): who decided, when, and the audit row."""
    request.status = to_status
    request.decided_by_id = by.id
    request.decided_at = now
    patient = _patient(request)
    patient.changed_at = now  # the relapse scan reads decisions (CLINICAL.md §5)
    audit.record(
        by,
        ACTIONS[to_status],
        patient=patient,
        target_type="booster_request",
        target_id=request.id,
        detail=detail,
    )


def approve(request: BoosterRequest, by: User, note: str | None = None) -> BoosterRequest:
    """The clinic agrees a booster is due; scheduling it is the next step."""
    _require_decider(request, by)
    _check_transition(request, "approved")
    text = _text("note", note, DECISION_TEXT_MAX, required=False)
    with _versioned():
        if text is not None:
            request.note = text
        _decide(request, "approved", by, clock.now())
    return request


def schedule(request: BoosterRequest, by: User, scheduled_for: datetime) -> ScheduleResult:
    """Book the booster: a scheduled booster infusion for the request, and a text telling the patient."""
    from tracker.services import course  # course completes requests through this module: import late

    _require_decider(request, by)
    _check_transition(request, "scheduled")
    now = clock.now()
    if not isinstance(scheduled_for, datetime) or scheduled_for.utcoffset() is None:
        raise Invalid.one("scheduled_for", "give a date and time with its time zone offset")
    if scheduled_for <= now:
        raise Invalid.one("scheduled_for", "must be in the future")
    patient = _patient(request)
    with _versioned():
        booked = course.record_infusion(
            patient,
            kind="booster",
            status="scheduled",
            scheduled_for=scheduled_for,
            booster_request_id=request.id,
            by=by,
        )
        _decide(request, "scheduled", by, now, detail={"infusion_id": str(booked.infusion.id)})
        message = notify_booked(patient, booked.infusion)
    return ScheduleResult(request, booked.infusion, message)


def decline(request: BoosterRequest, by: User, reason: str) -> BoosterRequest:
    """The clinic decides against a booster; CLINICAL.md §5: the evidence it saw will not raise it again."""
    _require_decider(request, by)
    _check_transition(request, "declined")
    text = _text("reason", reason, DECISION_TEXT_MAX, required=True)
    with _versioned():
        request.reason = text
        _decide(request, "declined", by, clock.now())
    return request


def cancel(request: BoosterRequest, by: User, reason: str) -> BoosterRequest:
    """Withdraw a request, booked or not; a scheduled infusion for it is cancelled too (API.md)."""
    _require_decider(request, by)
    _check_transition(request, "cancelled")
    text = _text("reason", reason, DECISION_TEXT_MAX, required=True)
    now = clock.now()
    booked = db.session.scalars(
        sa.select(Infusion).where(Infusion.booster_request_id == request.id, Infusion.status == "scheduled")
    ).all()
    with _versioned():
        for infusion in booked:
            infusion.status = "cancelled"
            infusion.updated_at = now
        request.reason = text
        _decide(request, "cancelled", by, now, detail={"cancelled_infusions": [str(i.id) for i in booked]})
    return request


def complete(request: BoosterRequest, infusion: Infusion, by: User | None = None) -> BoosterRequest:
    """CLINICAL.md §5: an infusion given while the request is open meets its need; a new window begins.

    Not a decision: decided_by and decided_at keep the clinic's last decision.
    """
    _check_transition(request, "completed")
    now = clock.now()
    with _versioned():
        request.status = "completed"
        infusion.booster_request_id = request.id
        patient = _patient(request)
        patient.changed_at = now
        audit.record(
            by,
            "booster.complete",
            patient=patient,
            target_type="booster_request",
            target_id=request.id,
            detail={"infusion_id": str(infusion.id)},
        )
    return request


def add_evidence(
    request: BoosterRequest, checkin_ids: Sequence[str | uuid.UUID], urgency: str | None = None
) -> list[uuid.UUID]:
    """The scan cites more check-ins on an open request; returns the ids it had not cited yet.

    Idempotent: ids already cited are skipped. CLINICAL.md §5: urgent upgrades a routine
    request; nothing downgrades an urgent one.
    """
    if urgency is not None and urgency not in URGENCIES:
        raise Invalid.one("urgency", "use routine or urgent")
    if not request.is_open:
        raise Conflict(f"A booster request that is {request.status} takes no more evidence.")
    cited = {e.checkin_id for e in request.evidence}
    new = [i for i in _checkin_ids(request.patient_id, checkin_ids) if i not in cited]
    upgrade = urgency == "urgent" and request.urgency != "urgent"
    if not new and not upgrade:
        return []
    now = clock.now()
    with _versioned():
        request.evidence.extend(BoosterEvidence(checkin_id=i, added_at=now) for i in new)
        if upgrade:
            request.urgency = "urgent"
        audit.record(
            None,
            "booster.evidence",
            patient=_patient(request),
            target_type="booster_request",
            target_id=request.id,
            detail={"added": [str(i) for i in new], "urgency": request.urgency},
        )
    return new


def local_when(moment: datetime, timezone: str) -> str:
    """A moment as a patient reads it, in their zone: 'Tuesday, December 1 at 9:30 AM CST'."""
    zone: tzinfo
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    local = moment.astimezone(zone)
    # strftime's names are English: the app never changes the C locale.
    return f"{local:%A, %B} {local.day} at {local.hour % 12 or 12}:{local:%M %p} {local.tzname()}"


def notify_booked(patient: Patient, infusion: Infusion) -> OutboundMessage | None:
    """Queue the text with the booked date and the safety instructions; nothing when opted out."""
    if patient.sms_opted_out or infusion.scheduled_for is None:
        return None
    # CLINICAL.md §1: ride home, no driving until after a night's sleep; no drug names or scores.
    body = messages.BOOSTER_SCHEDULED.format(when=local_when(infusion.scheduled_for, patient.timezone))
    return queue_sms(patient.phone, body, "booster_scheduled", patient_id=patient.id, clinic_id=patient.clinic_id)


def get_request_for_staff(staff: User, request_id: str | uuid.UUID) -> BoosterRequest:
    """The request if it belongs to the staff member's clinic; NotFound otherwise."""
    query = scope.scoped_to_clinic(staff, sa.select(BoosterRequest), BoosterRequest.clinic_id)
    request = db.session.scalar(query.where(BoosterRequest.id == scope.parse_id(request_id)))
    if request is None:
        raise NotFound("No such booster request.")
    return request


def requests_query(
    staff: User, status: str | Sequence[str] | None = None, patient_id: str | uuid.UUID | None = None
) -> sa.Select[tuple[BoosterRequest]]:
    """The clinic's requests, urgent first, then the oldest (API.md); a query, so callers can page it.

    `status` is one status or several (OPEN_STATUSES for every request that counts as open).
    """
    statuses = [status] if isinstance(status, str) else list(status or ())
    if any(s not in REQUEST_STATUSES for s in statuses):
        raise Invalid.one("status", f"use one of {', '.join(REQUEST_STATUSES)}")
    query = scope.scoped_to_clinic(staff, sa.select(BoosterRequest), BoosterRequest.clinic_id)
    if statuses:
        query = query.where(BoosterRequest.status.in_(statuses))
    if patient_id is not None:
        query = query.where(BoosterRequest.patient_id == scope.parse_id(patient_id))
    return query.order_by(
        sa.case((BoosterRequest.urgency == "urgent", 0), else_=1), BoosterRequest.raised_at, BoosterRequest.id
    )


def requests_for_clinic(
    staff: User,
    status: str | Sequence[str] | None = None,
    patient_id: str | uuid.UUID | None = None,
    limit: int = 200,
) -> list[BoosterRequest]:
    """The staff member's clinic's requests (see requests_query), the read written to the audit log."""
    found = list(db.session.scalars(requests_query(staff, status, patient_id).limit(limit)))
    detail = {"status": status if status is None or isinstance(status, str) else list(status)}
    audit.record(staff, "booster.list", detail={**detail, "patient_id": str(patient_id) if patient_id else None})
    return found


def requests_for_patient(patient: Patient) -> list[BoosterRequest]:
    """A patient's own requests, newest first (GET /booster-requests)."""
    query = sa.select(BoosterRequest).where(BoosterRequest.patient_id == patient.id)
    return list(db.session.scalars(query.order_by(BoosterRequest.raised_at.desc(), BoosterRequest.id)))


def infusion_for(request: BoosterRequest) -> Infusion | None:
    """The infusion booked for or completing the request (API.md infusion_id): a live one before a cancelled one."""
    return db.session.scalar(
        sa.select(Infusion)
        .where(Infusion.booster_request_id == request.id)
        .order_by(sa.case((Infusion.status == "cancelled", 1), else_=0), Infusion.created_at.desc())
        .limit(1)
    )


def infusion_ids_for(requests: Sequence[BoosterRequest]) -> dict[uuid.UUID, uuid.UUID]:
    """`infusion_for` for a whole page of requests in one query (a live infusion before a cancelled one)."""
    if not requests:
        return {}
    rows = db.session.execute(
        sa.select(Infusion.booster_request_id, Infusion.id)
        .where(Infusion.booster_request_id.in_([r.id for r in requests]))
        .order_by(sa.case((Infusion.status == "cancelled", 0), else_=1), Infusion.created_at)
    ).all()
    # Later rows win: the ordering puts the live, newest infusion of each request last.
    return {request_id: infusion_id for request_id, infusion_id in rows if request_id is not None}
