"""Reading patients: a patient's own record, and the clinic's list of them."""

from __future__ import annotations

import sqlalchemy as sa

from tracker.extensions import db
from tracker.models import Patient, User
from tracker.services import scope
from tracker.services.errors import NotFound


def patient_of(user: User) -> Patient:
    """The patient record behind a patient's account."""
    patient = db.session.scalar(sa.select(Patient).where(Patient.user_id == user.id))
    if patient is None:
        raise NotFound("No patient record for this account.")
    return patient


def list_for_staff(staff: User, limit: int = 200) -> list[Patient]:
    """The staff member's clinic's patients, by name (the dashboard issue adds filters and sorting)."""
    query = scope.staff_patients(staff).order_by(Patient.display_name, Patient.id).limit(limit)
    return list(db.session.scalars(query))
