"""A patient's own record and the settings they (or their clinic) may change."""

from __future__ import annotations

from datetime import time

import sqlalchemy as sa

from tracker.errors import FieldProblem, Invalid, NotFound
from tracker.extensions import db
from tracker.models import Patient, User
from tracker.services import scope
from tracker.services.accounts import users as accounts
from tracker.services.audit import trail as audit


def patient_of(user: User) -> Patient:
    """The patient record behind a patient's account."""
    patient = db.session.scalar(sa.select(Patient).where(Patient.user_id == user.id))
    if patient is None:
        raise NotFound("No patient record for this account.")
    return patient


def update_settings(
    patient: Patient,
    *,
    timezone: str | None = None,
    reminders_enabled: bool | None = None,
    reminder_local_time: time | None = None,
    reminder_weekday: int | None = None,
    display_name: str | None = None,
    by: User | None = None,
) -> Patient:
    """Change what a patient (or their clinic) may change; refuse bad values, field by field.

    A change by staff (`by`) is written to the audit log, naming the fields given.
    """
    problems = []
    if timezone is not None and not accounts.valid_timezone(timezone):
        problems.append(FieldProblem("timezone", "Use a time zone name such as America/Chicago."))
    if reminder_weekday is not None and not 0 <= reminder_weekday <= 6:
        problems.append(FieldProblem("reminders.weekday", "Use 0 (Monday) to 6 (Sunday)."))
    if display_name is not None and not 0 < len(display_name.strip()) <= 120:
        problems.append(FieldProblem("display_name", "Enter a name of 1 to 120 characters."))
    if problems:
        raise Invalid(problems)
    if timezone is not None:
        patient.timezone = timezone
    if reminders_enabled is not None:
        patient.reminders_enabled = reminders_enabled
    if reminder_local_time is not None:
        patient.reminder_local_time = reminder_local_time
    if reminder_weekday is not None:
        patient.reminder_weekday = reminder_weekday
    if display_name is not None:
        patient.display_name = display_name.strip()
    if by is not None and by.is_staff:
        given = {
            "timezone": timezone,
            "reminders_enabled": reminders_enabled,
            "reminder_local_time": reminder_local_time,
            "reminder_weekday": reminder_weekday,
            "display_name": display_name,
        }
        fields = sorted(name for name, value in given.items() if value is not None)
        audit.record(
            by,
            "patient.update",
            patient=patient,
            target_type="patient",
            target_id=patient.id,
            detail={"fields": fields},
        )
    db.session.flush()
    return patient


def update_reminders(
    staff: User,
    patient: Patient,
    *,
    enabled: bool,
    weekday: int | None,
    local_time: time | None,
    timezone: str | None,
) -> Patient:
    """The clinic changes a patient's reminder settings (services/patients.py), written to the audit log."""
    scope.require_staff(staff)
    update_settings(
        patient,
        timezone=timezone,
        reminders_enabled=enabled,
        reminder_weekday=weekday,
        reminder_local_time=local_time,
        by=staff,
    )
    return patient
