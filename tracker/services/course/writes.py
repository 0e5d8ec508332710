"""The course of treatment (CLINICAL.md §1): phase changes with history, infusions recorded and corrected.

A given booster infusion completes its request (boosters/requests.py); the end of induction moves the phase."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Unpack

import sqlalchemy as sa

from tracker import clock, local_time
from tracker.errors import Conflict, FieldProblem, Invalid, NotFound, ServiceError
from tracker.extensions import db
from tracker.infusions import (
    DEFAULT_DOSE_MG_PER_KG,
    DEFAULT_DURATION_MIN,
    EDITABLE,
    InfusionFields,
    booking_checks,
    clean,
    confirmation_key,
    day_checks,
    to_confirm,
)
from tracker.models import BoosterEvidence, BoosterRequest, CheckIn, Clinic, Infusion, Patient, PhaseChange, User
from tracker.models.infusion import INFUSION_STATUSES
from tracker.models.patient import PHASES
from tracker.services import scope
from tracker.services.audit import trail as audit
from tracker.services.boosters import queries as booster_queries
from tracker.services.boosters import requests as boosters
from tracker.services.clinic import summary
from tracker.services.course import notices
from tracker.vitals import BP_FIELDS, readings_of
from tracker.vitals import holds as holds_of

PHASE_REASON_MAX = 500  # PhaseChange.reason
CHANGE_REASON_MAX = 500  # why an infusion was corrected or cancelled, kept in the audit log
# What a clinician may add to a given infusion without calling it a correction.
NOT_A_CORRECTION = frozenset({"notes"})
CANCEL_REASON_NEEDED = "say why the infusion is cancelled"
ALREADY_CANCELLED = "This infusion is already cancelled."
# CLINICAL.md §5: discharge cancels the patient's open booster request with this reason.
DISCHARGED_REASON = "discharged"
DISCHARGE_REASON_NEEDED = "say why the patient is discharged: it cancels an open booster request and stops reminders"


# Status moves of an infusion, (from, to); editing a given infusion's details is given -> given.
INFUSION_TRANSITIONS = frozenset(
    {("scheduled", "scheduled"), ("scheduled", "given"), ("scheduled", "cancelled"), ("given", "given")}
)


class NeedsConfirmation(ServiceError):
    """Values outside the usual ranges, or a hold blood pressure, not confirmed yet: nothing was stored.

    `key` names what was warned about; passed back as `confirmed`, it saves exactly those values.
    """

    status = 422
    # CLINICAL.md §1 and §7: outside the usual range, or a blood pressure at the clinic's hold-and-review level.
    title = "Values that need the clinician's confirmation"

    def __init__(self, warnings: list[FieldProblem], key: str) -> None:
        super().__init__("; ".join(f"{w.field}: {w.message}" for w in warnings))
        self.warnings = warnings
        self.problems = warnings  # the API names each field (tracker/problems.py)
        self.key = key


def _require_confirmed(
    values: Mapping[str, Any],
    warnings: list[FieldProblem],
    confirmed: bool | str,
    holds: list[FieldProblem] | None = None,
    hold_confirmed: bool = False,
) -> None:
    """CLINICAL.md §1: a dose or observation outside the usual range is saved once the clinician confirms it;
    CLINICAL.md §7: so is an infusion given with a blood pressure at the clinic's hold-and-review level.

    `confirmed` True saves with the warnings in the answer (the API), but a hold still needs `hold_confirmed`;
    a key (the web's second submission) saves the values it names, holds included.
    """
    holds = holds or []
    pending = ([] if confirmed is True else warnings) + ([] if hold_confirmed else holds)
    if not pending:
        return
    asked = warnings + holds
    # The readings are kept as two columns each: the key names them as typed ("185/100").
    named = {**values, **{name: str(r) for name, r in readings_of(values).items() if r is not None}}
    key = confirmation_key(named, asked)
    if confirmed != key:
        raise NeedsConfirmation(pending if confirmed is True else asked, key)


def _holds(clinic: Clinic, values: Mapping[str, Any], status: str, touched: Collection[str]) -> list[FieldProblem]:
    """CLINICAL.md §7: the readings being set now on an infusion given that reach the clinic's hold threshold."""
    if status != "given":
        return []
    return [h for h in holds_of(readings_of(values), clinic.bp_hold_at) if h.field in touched]


def _hold_level(clinic: Clinic) -> dict[str, int]:
    """CLINICAL.md §7: the clinic's hold-and-review level, kept with a visit given as the level it was judged by."""
    return {"bp_hold_systolic": clinic.bp_hold_systolic, "bp_hold_diastolic": clinic.bp_hold_diastolic}


def _booking_checks(clinic: Clinic, patient: Patient, scheduled_for: datetime) -> list[FieldProblem]:
    """What a clinician confirms of a new booking: another booking of the patient at that time or on that day
    (infusions.booking_checks). A booster request's booking is the request's, decided there."""
    others = sa.select(Infusion.scheduled_for).where(
        Infusion.patient_id == patient.id, Infusion.status == "scheduled", Infusion.scheduled_for.is_not(None)
    )
    booked = [at for at in db.session.scalars(others) if at is not None]
    return booking_checks(scheduled_for, booked, local_time.zone_of(clinic.timezone))


def _visit_checks(
    clinic: Clinic,
    patient: Patient,
    values: Mapping[str, Any],
    touched: Collection[str],
    booked: datetime | None,
    infusion_id: uuid.UUID | None = None,
) -> list[FieldProblem]:
    """What a clinician confirms of a visit recorded as given, as a hold is confirmed: unusual heart rate, SpO2
    or ride home (infusions.to_confirm), and a given time on another day than its booking or than another
    infusion given (infusions.day_checks; only when the given time is being set)."""
    found = to_confirm(values, touched)
    given_at = values.get("given_at")
    if values.get("status") != "given" or given_at is None or "given_at" not in touched:
        return found
    others = sa.select(Infusion.given_at).where(
        Infusion.patient_id == patient.id, Infusion.status == "given", Infusion.given_at.is_not(None)
    )
    if infusion_id is not None:
        others = others.where(Infusion.id != infusion_id)
    zone = local_time.zone_of(clinic.timezone)
    given = [at for at in db.session.scalars(others) if at is not None]
    return found + day_checks(given_at, booked, given, zone)


@dataclass(frozen=True)
class InfusionResult:
    infusion: Infusion
    warnings: list[FieldProblem] = field(default_factory=list)  # outside the usual range: shown, not refused
    phase_change: PhaseChange | None = None  # the move out of induction, when this infusion ended it
    completed_request: BoosterRequest | None = None  # the booster request this infusion completed


def _require_staff_of(patient: Patient, by: User | None) -> None:
    """Staff of the patient's clinic, or the system (None); anyone else is refused."""
    if by is None:
        return
    scope.require_staff(by)
    if by.clinic_id != patient.clinic_id:
        raise NotFound("No such patient.")


def change_phase(patient: Patient, to_phase: str, by: User | None, reason: str | None = None) -> PhaseChange | None:
    """Move a patient to another phase, kept in the history with who, when and why.

    Moving to the phase they are in already changes nothing and returns None (a repeated PATCH is harmless).
    """
    if to_phase not in PHASES:
        raise Invalid.one("phase", f"use one of {', '.join(PHASES)}")
    _require_staff_of(patient, by)
    text = (reason or "").strip() or None
    if text is not None and len(text) > PHASE_REASON_MAX:
        raise Invalid.one("reason", f"at most {PHASE_REASON_MAX} characters")
    if to_phase == patient.phase:
        return None
    if to_phase == "discharged" and text is None:
        # CLINICAL.md §5: discharge cancels the open booster request and stops reminders and scans: never by a
        # slip of the menu, and the history says why.
        raise Invalid.one("reason", DISCHARGE_REASON_NEEDED)
    now = clock.now()
    row = PhaseChange(
        patient_id=patient.id,
        from_phase=patient.phase,
        to_phase=to_phase,
        changed_by_id=by.id if by is not None else None,
        changed_at=now,
        reason=text,
    )
    detail = {"from": patient.phase, "to": to_phase}
    patient.phase = to_phase
    patient.changed_at = now  # CLINICAL.md §5: the phase decides whether the relapse rule applies
    db.session.add(row)
    db.session.flush()
    audit.record(
        by, "patient.phase_change", patient=patient, target_type="patient", target_id=patient.id, detail=detail
    )
    if to_phase == "discharged" and (request := booster_queries.open_request_for(patient.id)) is not None:
        # CLINICAL.md §5: discharge cancels the open request (and a booked infusion for it).
        boosters.cancel(request, by, DISCHARGED_REASON)
    return row


def _linked_request(patient: Patient, request_id: Any, problems: list[FieldProblem]) -> BoosterRequest | None:
    """The open booster request of this patient that an infusion is for; a problem otherwise."""
    try:
        parsed = request_id if isinstance(request_id, uuid.UUID) else uuid.UUID(str(request_id))
    except ValueError:
        parsed = None
    request = db.session.get(BoosterRequest, parsed) if parsed is not None else None
    if request is None or request.patient_id != patient.id or not request.is_open:
        problems.append(FieldProblem("booster_request_id", "not an open booster request of this patient"))
        return None
    return request


def record_infusion(
    patient: Patient,
    *,
    kind: str,
    status: str,
    by: User | None,
    booster_request_id: uuid.UUID | str | None = None,
    confirmed: bool | str = True,
    hold_confirmed: bool = False,
    **fields: Unpack[InfusionFields],
) -> InfusionResult:
    """Record an infusion scheduled or given (given_at defaults to now); nothing is stored when refused.

    Giving one may complete the open booster request and end induction (see `_after_given`). With `confirmed`
    other than True, unusual values raise NeedsConfirmation until confirmed; a blood pressure at the clinic's
    hold level does so unless `hold_confirmed` (`_require_confirmed`).
    """
    _require_staff_of(patient, by)
    now = clock.now()
    raw: dict[str, Any] = {"kind": kind, "status": status, **fields}
    if status == "given" and raw.get("given_at") is None:
        raw["given_at"] = now
    if raw.get("dose_mg_per_kg") is None:
        raw["dose_mg_per_kg"] = DEFAULT_DOSE_MG_PER_KG
    if raw.get("duration_min") is None:
        raw["duration_min"] = DEFAULT_DURATION_MIN
    values, problems, warnings = clean(raw, now, touched=raw.keys())
    if status == "cancelled":
        problems.append(FieldProblem("status", "use scheduled or given"))
    request = _linked_request(patient, booster_request_id, problems) if booster_request_id is not None else None
    if problems:
        raise Invalid(problems)
    clinic = db.session.get(Clinic, patient.clinic_id)
    assert clinic is not None  # a patient always has a clinic (foreign key)
    holds = _holds(clinic, values, status, BP_FIELDS)
    asks = _visit_checks(clinic, patient, values, raw.keys(), None)
    if status == "scheduled" and request is None:
        asks += _booking_checks(clinic, patient, values["scheduled_for"])
    _require_confirmed(values, warnings, confirmed, holds + asks, hold_confirmed)
    infusion = Infusion(
        patient_id=patient.id,
        bp_hold_confirmed=bool(holds),
        **(_hold_level(clinic) if status == "given" else {}),
        booster_request_id=request.id if request is not None else None,
        created_by_id=by.id if by is not None else None,
        created_at=now,
        updated_at=now,
        **values,
    )
    db.session.add(infusion)
    patient.changed_at = now  # CLINICAL.md §5: a given infusion opens a new window
    db.session.flush()
    if status == "given":
        summary.refresh([patient.id])  # CLINICAL.md §4-§5: the baseline and low follow the infusions given
    detail = {"kind": kind, "status": status, "warnings": [w.field for w in warnings + holds + asks]}
    audit.record(by, "infusion.record", patient=patient, target_type="infusion", target_id=infusion.id, detail=detail)
    if status != "given":
        return InfusionResult(infusion, warnings)
    return _after_given(patient, infusion, by, warnings, may_complete=True)


def _current_fields(infusion: Infusion) -> dict[str, Any]:
    current = {name: getattr(infusion, name) for name in EDITABLE if name not in BP_FIELDS}
    return {**current, **infusion.readings}


def _audit_value(value: Any) -> Any:
    """A stored value as the audit log's JSON keeps it."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return f"{value[0]}/{value[1]}"
    return value


def update_infusion(
    infusion: Infusion,
    changes: Mapping[str, Any],
    by: User | None,
    reason: str | None = None,
    confirmed: bool | str = True,
    hold_confirmed: bool = False,
) -> InfusionResult:
    """Record a scheduled infusion as given, reschedule or cancel it, or correct a given one's details.

    API.md: correcting what was recorded of a given infusion needs a reason; the reason (for any change) and the
    values it replaced are kept in the audit log. Only the values that differ count as changed.
    """
    patient = db.session.get(Patient, infusion.patient_id)
    assert patient is not None  # an infusion always has a patient (foreign key)
    _require_staff_of(patient, by)
    if unknown := sorted(set(changes) - EDITABLE):
        raise Invalid([FieldProblem(name, "not a field that can be changed") for name in unknown])
    old_status, new_status = infusion.status, changes.get("status", infusion.status)
    if new_status not in INFUSION_STATUSES:
        raise Invalid.one("status", "use scheduled, given or cancelled")
    if old_status == new_status == "cancelled":
        raise Conflict(ALREADY_CANCELLED)
    if (old_status, new_status) not in INFUSION_TRANSITIONS:
        raise Conflict(f"An infusion that is {old_status} cannot become {new_status}.")
    linked = db.session.get(BoosterRequest, infusion.booster_request_id) if infusion.booster_request_id else None
    if new_status == "cancelled" and linked is not None and linked.is_open:
        raise Conflict("This infusion books a booster request: cancel the request, and the infusion goes with it.")
    now = clock.now()
    current = _current_fields(infusion)
    raw = {**current, **changes}
    if new_status == "given" and raw.get("given_at") is None:
        raw["given_at"] = now
    before, _, _ = clean({**current, "status": old_status}, now, touched=())
    after, problems, _ = clean(raw, now, touched=())
    changed = {name for name, value in after.items() if value != before[name] and name != "status"}
    # A booked infusion given now has all its values set now; a given one warns only about what changes.
    touched = set(changes) if new_status != old_status else {n for n in changes if n in changed}
    values, problems, warnings = clean(raw, now, touched=touched)
    text = (reason or "").strip() or None
    if text is not None and len(text) > CHANGE_REASON_MAX:
        problems.append(FieldProblem("reason", f"at most {CHANGE_REASON_MAX} characters"))
    correcting = old_status == "given" and bool(changed - NOT_A_CORRECTION)
    if correcting and text is None:
        problems.append(FieldProblem("reason", "say why the record of a given infusion is corrected"))
    if new_status == "cancelled" and old_status != "cancelled" and text is None:
        # Kept in the audit log: a cancelled visit is a figure the clinic reviews, and its reason is the record.
        problems.append(FieldProblem("reason", CANCEL_REASON_NEEDED))
    if problems:
        raise Invalid(problems)
    clinic = db.session.get(Clinic, patient.clinic_id)
    assert clinic is not None  # a patient always has a clinic (foreign key)
    # CLINICAL.md §7: given now, every reading counts; a given one corrected, the readings that change.
    was, now_read = readings_of(before), readings_of(values)
    new_readings = set(BP_FIELDS) if new_status != old_status else {n for n in BP_FIELDS if was[n] != now_read[n]}
    holds = _holds(clinic, values, new_status, new_readings)
    # Given now, its time is set now even when not sent (it defaults to now); corrected, when it changes.
    timed = {"given_at"} if new_status != old_status or "given_at" in changed else set()
    booked = infusion.scheduled_for if old_status == "scheduled" else None
    asks = _visit_checks(clinic, patient, {**values, "status": new_status}, touched | timed, booked, infusion.id)
    _require_confirmed(values, warnings, confirmed, holds + asks, hold_confirmed)
    if new_status == "given" and new_readings:
        # Kept with the infusion: a reading still at the hold level, confirmed now or when it was recorded.
        still = bool(holds_of(now_read, clinic.bp_hold_at))
        values["bp_hold_confirmed"] = still and (bool(holds) or infusion.bp_hold_confirmed)
    if new_status == "given" and (old_status != "given" or new_readings):
        values.update(_hold_level(clinic))  # the readings were judged by today's level
    values["status"] = new_status
    stored = {name: getattr(infusion, name) for name in changed}  # as the record had them, for the audit log
    rescheduled = new_status == "scheduled" and values["scheduled_for"] != infusion.scheduled_for
    for name, value in values.items():
        setattr(infusion, name, value)
    infusion.updated_at = now
    patient.changed_at = now  # CLINICAL.md §5: the window follows the infusions given
    db.session.flush()
    if "given" in (old_status, new_status):
        summary.refresh([patient.id])  # CLINICAL.md §4-§5: the baseline and low follow the infusions given
    detail: dict[str, Any] = {
        "fields": sorted(changes),
        "status": new_status,
        "warnings": [w.field for w in warnings + holds + asks],
    }
    if text is not None:
        detail["reason"] = text
    if old_status == "given":
        detail["before"] = {name: _audit_value(stored[name]) for name in sorted(changed)}
    audit.record(by, "infusion.update", patient=patient, target_type="infusion", target_id=infusion.id, detail=detail)
    if rescheduled and linked is not None and linked.is_open:
        notices.notify_booked(patient, infusion)  # the patient was told the old date
    if new_status != "given":
        return InfusionResult(infusion, warnings)
    # CLINICAL.md §5: given now, or its given time corrected, it may now meet the open request's need.
    return _after_given(patient, infusion, by, warnings, may_complete=old_status != "given" or "given_at" in changed)


def _after_given(
    patient: Patient, infusion: Infusion, by: User | None, warnings: list[FieldProblem], may_complete: bool
) -> InfusionResult:
    """What giving an infusion, or correcting when it was given, sets off: the open request completed, induction
    started or ended (counted by the given times, so a corrected time counts anew)."""
    completed = None
    request = booster_queries.open_request_for(patient.id) if may_complete else None
    assert infusion.given_at is not None  # a given infusion has its time (check constraint)
    # CLINICAL.md §5: an infusion given after the latest evidence of the open request completes it, however late
    # it is recorded; one given before that evidence did not meet the need the evidence states.
    if request is not None and (infusion.booster_request_id == request.id or _meets(request, infusion.given_at)):
        completed = boosters.complete(request, infusion, by)
    phase_change = None
    if infusion.kind == "induction":
        phase_change = _start_induction(patient) or _end_induction(patient)
    return InfusionResult(infusion, warnings, phase_change, completed)


def _meets(request: BoosterRequest, given_at: datetime) -> bool:
    """Given after the latest check-in the request cites; a request citing none: at or after it was raised."""
    latest = db.session.scalar(
        sa.select(sa.func.max(CheckIn.taken_at))
        .join(BoosterEvidence, BoosterEvidence.checkin_id == CheckIn.id)
        .where(BoosterEvidence.request_id == request.id)
    )
    return given_at >= request.raised_at if latest is None else given_at > latest


def _start_induction(patient: Patient) -> PhaseChange | None:
    """CLINICAL.md §5: a patient in screening given an induction infusion moves to induction, in the history."""
    if patient.phase != "screening":
        return None
    row = change_phase(patient, "induction", None, reason="First induction infusion given.")
    # The clinic's count may be one infusion: this one can end induction at once.
    return _end_induction(patient) or row


def _end_induction(patient: Patient) -> PhaseChange | None:
    """Move the patient on once the clinic's count of induction infusions has been given."""
    if patient.phase != "induction":
        return None
    clinic = db.session.get(Clinic, patient.clinic_id)
    assert clinic is not None  # a patient always has a clinic (foreign key)
    # A second series (back to induction from a later phase) counts afresh.
    restarted = db.session.scalar(
        sa.select(sa.func.max(PhaseChange.changed_at)).where(
            PhaseChange.patient_id == patient.id,
            PhaseChange.to_phase == "induction",
            PhaseChange.from_phase.in_(("maintenance", "as_needed", "discharged")),
        )
    )
    query = sa.select(sa.func.count(Infusion.id)).where(
        Infusion.patient_id == patient.id, Infusion.kind == "induction", Infusion.status == "given"
    )
    if restarted is not None:
        query = query.where(Infusion.given_at > restarted)
    given = db.session.scalar(query) or 0
    # CLINICAL.md §1: induction is typically 6 infusions; the clinic sets its own count.
    if given < clinic.induction_infusion_count:
        return None
    reason = f"Induction series complete: {given} of {clinic.induction_infusion_count} induction infusions given."
    return change_phase(patient, clinic.post_induction_phase, None, reason=reason)
