"""The clinic's calendar: infusions booked for the next two weeks, day by day in the clinic's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from tracker import local_time
from tracker.extensions import db
from tracker.models import Clinic, Infusion, Patient, User
from tracker.services import scope
from tracker.services.audit import trail as audit

DAYS = 14
# How far ahead the calendar pages: a year of fortnights, past which nothing is booked in earnest.
LAST_PAGE = 26


@dataclass(frozen=True)
class BookedVisit:
    infusion: Infusion
    patient: Patient
    # What the clinic has still to settle before the visit: CLINICAL.md §1 asks for a ride home, and a
    # patient who opted out of texts was never sent the booking with its safety instructions.
    unconfirmed: tuple[str, ...]


@dataclass(frozen=True)
class CalendarDay:
    day: date
    visits: list[BookedVisit]


def _unconfirmed(infusion: Infusion, patient: Patient) -> tuple[str, ...]:
    gaps = []
    if infusion.ride_home_confirmed is not True:
        gaps.append("ride home not confirmed")
    if patient.sms_opted_out:
        gaps.append("not texted: opted out of texts")
    return tuple(gaps)


def booked_visits(staff: User, now: datetime, days: int = DAYS, page: int = 0) -> list[CalendarDay]:
    """Every day for `days` days in the clinic's zone, from today (page 0) or `page` such spans later, with the
    infusions booked on it (days with none included, so a gap reads as a free day); only the staff member's
    clinic; the read is audited."""
    clinic = db.session.get(Clinic, staff.clinic_id)
    zone = local_time.zone_of(clinic.timezone if clinic else None)
    first = local_time.in_zone(now, zone).date() + timedelta(days=days * min(max(page, 0), LAST_PAGE))
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(first + timedelta(days=days), time(), zone).astimezone(UTC)
    query = (
        scope.staff_patients(staff)
        .add_columns(Infusion)
        .join(Infusion, Infusion.patient_id == Patient.id)
        .where(Infusion.status == "scheduled", Infusion.scheduled_for >= start, Infusion.scheduled_for < end)
        .order_by(Infusion.scheduled_for, Patient.display_name, Infusion.id)
    )
    by_day: dict[date, list[BookedVisit]] = {first + timedelta(days=n): [] for n in range(days)}
    for patient, infusion in db.session.execute(query).tuples():
        assert infusion.scheduled_for is not None  # the status filter: a booked infusion has its time
        day = local_time.in_zone(infusion.scheduled_for, zone).date()
        if day in by_day:
            by_day[day].append(BookedVisit(infusion, patient, _unconfirmed(infusion, patient)))
    count = sum(len(visits) for visits in by_day.values())
    audit.record(staff, "calendar.read", detail={"from": first.isoformat(), "days": days, "count": count})
    return [CalendarDay(day, visits) for day, visits in by_day.items()]
