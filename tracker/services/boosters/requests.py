"""A booster request's life (CLINICAL.md §5, API.md): raised, evidence added, approved, declined, cancelled, completed.

The state machine and its checks; booking (boosters/booking.py) and the course build on it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from tracker import clock
from tracker.db import insert_once
from tracker.errors import Conflict, FieldProblem, Forbidden, Invalid, NotFound
from tracker.extensions import db
from tracker.models import BoosterEvidence, BoosterRequest, CheckIn, Infusion, Patient, User
from tracker.models.booster import RAISED_BY, URGENCIES
from tracker.services import scope
from tracker.services.alerts import writes as alerts
from tracker.services.audit import trail as audit
from tracker.services.boosters.queries import open_request_for

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


def check_transition(request: BoosterRequest, to_status: str) -> None:
    if (request.status, to_status) not in TRANSITIONS:
        raise Conflict(f"A booster request that is {request.status} cannot become {to_status}.")


def allowed_actions(request: BoosterRequest) -> tuple[str, ...]:
    """The decisions staff may make on the request now, as the API and the pages name them (approve, schedule,
    decline, cancel, in that order): the moves TRANSITIONS allows from its status that are decisions (ACTIONS).
    Completing is no decision: an infusion given does it (services/course/writes.py)."""
    return tuple(
        action.removeprefix("booster.")
        for to_status, action in ACTIONS.items()
        if (request.status, to_status) in TRANSITIONS
    )


@contextmanager
def versioned() -> Iterator[None]:
    """Write a decision inside a SAVEPOINT; a stale version (someone decided first) becomes Conflict."""
    try:
        with db.session.begin_nested():
            yield
    except StaleDataError:
        raise Conflict(STALE) from None


def patient_of_request(request: BoosterRequest) -> Patient:
    patient = db.session.get(Patient, request.patient_id)
    assert patient is not None  # a request always has a patient (foreign key)
    return patient


def require_decider(request: BoosterRequest, by: User) -> None:
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
    if not insert_once(db.session, request):
        # Two clicks or two scans at once: the unique index keeps one; the loser gets Conflict.
        raise Conflict("This patient already has an open booster request.")
    patient.changed_at = now
    if raised_by == "patient":
        alerts.open_attention_alert(
            patient,
            alerts.PATIENT_REQUEST_REASON,
            cause="patient_request",
            dedupe_key=f"booster-request:{request.id}",
            booster_request=request,
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


def decide(
    request: BoosterRequest, to_status: str, by: User | None, now: datetime, detail: dict[str, Any] | None = None
) -> None:
    """Move the request (inside `versioned`): who decided (None: the system), when, and the audit row."""
    request.status = to_status
    request.decided_by_id = by.id if by is not None else None
    request.decided_at = now
    patient = patient_of_request(request)
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
    require_decider(request, by)
    check_transition(request, "approved")
    text = _text("note", note, DECISION_TEXT_MAX, required=False)
    with versioned():
        if text is not None:
            request.note = text
        decide(request, "approved", by, clock.now())
    return request


def decline(request: BoosterRequest, by: User, reason: str) -> BoosterRequest:
    """The clinic decides against a booster; CLINICAL.md §5: the evidence it saw will not raise it again."""
    require_decider(request, by)
    check_transition(request, "declined")
    text = _text("reason", reason, DECISION_TEXT_MAX, required=True)
    with versioned():
        request.reason = text
        decide(request, "declined", by, clock.now())
    return request


def cancel(request: BoosterRequest, by: User | None, reason: str) -> BoosterRequest:
    """Withdraw a request, booked or not; a scheduled infusion for it is cancelled too (API.md).

    By staff of its clinic, or by the system (None) when the patient is discharged (CLINICAL.md §5)."""
    if by is not None:
        require_decider(request, by)
    check_transition(request, "cancelled")
    text = _text("reason", reason, DECISION_TEXT_MAX, required=True)
    now = clock.now()
    booked = db.session.scalars(
        sa.select(Infusion).where(Infusion.booster_request_id == request.id, Infusion.status == "scheduled")
    ).all()
    with versioned():
        for infusion in booked:
            infusion.status = "cancelled"
            infusion.updated_at = now
        request.reason = text
        decide(request, "cancelled", by, now, detail={"cancelled_infusions": [str(i.id) for i in booked]})
    return request


def complete(request: BoosterRequest, infusion: Infusion, by: User | None = None) -> BoosterRequest:
    """CLINICAL.md §5: an infusion given while the request is open meets its need; a new window begins.

    Not a decision: decided_by and decided_at keep the clinic's last decision.
    """
    check_transition(request, "completed")
    now = clock.now()
    with versioned():
        request.status = "completed"
        infusion.booster_request_id = request.id
        patient = patient_of_request(request)
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
    with versioned():
        request.evidence.extend(BoosterEvidence(checkin_id=i, added_at=now) for i in new)
        if upgrade:
            request.urgency = "urgent"
        audit.record(
            None,
            "booster.evidence",
            patient=patient_of_request(request),
            target_type="booster_request",
            target_id=request.id,
            detail={"added": [str(i) for i in new], "urgency": request.urgency},
        )
    return new


def require_version(request: BoosterRequest, seen_version: int | None) -> None:
    """A decision made on a page that showed an older state of the request is refused (409).

    The service's version column catches two writes at the same instant; this catches the commoner case, a
    page left open while a colleague decided: approving or declining what one never saw would be wrong.
    """
    if seen_version is not None and seen_version != request.version:
        raise Conflict(STALE)
