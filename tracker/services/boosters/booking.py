"""Booking a booster: the request's scheduled infusion and the text that tells the patient (CLINICAL.md §5).

Above both the request's state machine and the course, which it joins; neither imports this module."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from tracker import clock
from tracker.extensions import db
from tracker.models import Alert, BoosterRequest, Infusion, OutboundMessage, Patient, User
from tracker.services.alerts import writes as alerts
from tracker.services.boosters.requests import check_transition, decide, patient_of_request, require_decider, versioned
from tracker.services.course import writes as course
from tracker.services.course.notices import notify_booked

# CLINICAL.md §5: a booked booster whose time has passed by 24 hours with nothing recorded.
UNRECORDED_AFTER = timedelta(hours=24)
UNRECORDED_REASON = "Booked visit not recorded: a booster booked over 24 hours ago. Record it as given, or cancel it."


@dataclass(frozen=True)
class ScheduleResult:
    request: BoosterRequest
    infusion: Infusion
    message: OutboundMessage | None  # None when the patient opted out of SMS


def schedule(request: BoosterRequest, by: User, scheduled_for: datetime) -> ScheduleResult:
    """Book the booster: a scheduled booster infusion for the request, and a text telling the patient.

    Its time is checked as every booking's is (tracker/infusions.py `clean`): zoned, in range, in the future."""
    require_decider(request, by)
    check_transition(request, "scheduled")
    now = clock.now()
    patient = patient_of_request(request)
    with versioned():
        booked = course.record_infusion(
            patient,
            kind="booster",
            status="scheduled",
            scheduled_for=scheduled_for,
            booster_request_id=request.id,
            by=by,
        )
        decide(request, "scheduled", by, now, detail={"infusion_id": str(booked.infusion.id)})
        message = notify_booked(patient, booked.infusion)
    return ScheduleResult(request, booked.infusion, message)


def _booked_booster() -> sa.ColumnElement[bool]:
    return sa.and_(
        Infusion.status == "scheduled",
        sa.or_(Infusion.kind == "booster", Infusion.booster_request_id.is_not(None)),
    )


def unrecorded_visit_ids(now: datetime) -> list[uuid.UUID]:
    """Booked boosters 24 h past with nothing recorded and no alert yet for that booking (oldest first)."""
    overdue = db.session.scalars(
        sa.select(Infusion)
        .join(Patient, Patient.id == Infusion.patient_id)
        .where(_booked_booster(), Infusion.scheduled_for <= now - UNRECORDED_AFTER, Patient.phase != "discharged")
        .order_by(Infusion.scheduled_for, Infusion.id)
    ).all()
    keys = [unrecorded_key(infusion) for infusion in overdue]
    flagged = set(db.session.scalars(sa.select(Alert.dedupe_key).where(Alert.dedupe_key.in_(keys)))) if keys else set()
    return [infusion.id for infusion in overdue if unrecorded_key(infusion) not in flagged]


def unrecorded_key(infusion: Infusion) -> str:
    """One alert per booking: the infusion's id (a rescheduled visit that passes again is still the one alert)."""
    return f"booked-visit-unrecorded:{infusion.id}"


def flag_unrecorded_visit(infusion_id: uuid.UUID, now: datetime) -> bool:
    """CLINICAL.md §5: open the "booked visit not recorded" attention alert, once; False when nothing is due."""
    infusion = db.session.get(Infusion, infusion_id)
    if infusion is None or infusion.scheduled_for is None:
        return False
    if db.session.scalar(sa.select(_booked_booster()).where(Infusion.id == infusion.id)) is not True:
        return False  # recorded or cancelled meanwhile
    if infusion.scheduled_for > now - UNRECORDED_AFTER:
        return False
    patient = db.session.get(Patient, infusion.patient_id)
    assert patient is not None  # an infusion always has a patient (foreign key)
    # Not tied to the booster request: the queue folds a request's own alerts into its row, and this one must
    # stand out beside it.
    alerts.open_attention_alert(
        patient, UNRECORDED_REASON, cause="booked_visit_unrecorded", dedupe_key=unrecorded_key(infusion)
    )
    return True
