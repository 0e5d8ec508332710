"""Booking a booster: the request's scheduled infusion and the text that tells the patient (CLINICAL.md §5).

Above both the request's state machine and the course, which it joins; neither imports this module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tracker import clock
from tracker.errors import Invalid
from tracker.models import BoosterRequest, Infusion, OutboundMessage, User
from tracker.services.boosters.requests import check_transition, decide, patient_of_request, require_decider, versioned
from tracker.services.course import writes as course
from tracker.services.course.notices import notify_booked


@dataclass(frozen=True)
class ScheduleResult:
    request: BoosterRequest
    infusion: Infusion
    message: OutboundMessage | None  # None when the patient opted out of SMS


def schedule(request: BoosterRequest, by: User, scheduled_for: datetime) -> ScheduleResult:
    """Book the booster: a scheduled booster infusion for the request, and a text telling the patient."""
    require_decider(request, by)
    check_transition(request, "scheduled")
    now = clock.now()
    if not isinstance(scheduled_for, datetime) or scheduled_for.utcoffset() is None:
        raise Invalid.one("scheduled_for", "give a date and time with its time zone offset")
    if scheduled_for <= now:
        raise Invalid.one("scheduled_for", "must be in the future")
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
