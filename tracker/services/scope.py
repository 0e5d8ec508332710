"""The one place that limits what a staff member sees to their own clinic."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from tracker.errors import Forbidden, NotFound
from tracker.extensions import db
from tracker.models import Infusion, Patient, User


def require_staff(user: User) -> None:
    if not user.is_staff or not user.active:
        raise Forbidden("Only clinic staff may do this.")


def staff_patients(staff: User) -> sa.Select[tuple[Patient]]:
    """All patients the staff member may see: those of their clinic, and no others."""
    require_staff(staff)
    return sa.select(Patient).where(Patient.clinic_id == staff.clinic_id)


def scoped_to_clinic(staff: User, query: sa.Select[Any], clinic_column: Any) -> sa.Select[Any]:
    """Limit any query over a clinic-owned table to the staff member's clinic."""
    require_staff(staff)
    return query.where(clinic_column == staff.clinic_id)


def parse_id(raw: str | uuid.UUID) -> uuid.UUID:
    """Ids are opaque: anything that is not one of ours is simply not found."""
    if isinstance(raw, uuid.UUID):
        return raw
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise NotFound() from None


def get_patient_for_staff(staff: User, patient_id: str | uuid.UUID) -> Patient:
    """The patient if they belong to the staff member's clinic; NotFound otherwise."""
    patient = db.session.scalar(staff_patients(staff).where(Patient.id == parse_id(patient_id)))
    if patient is None:
        raise NotFound("No such patient.")
    return patient


def get_infusion_for_staff(staff: User, infusion_id: str | uuid.UUID) -> tuple[Infusion, Patient]:
    """The infusion and its patient if the patient is of the staff member's clinic; NotFound otherwise, in the
    same words for another clinic's infusion as for none at all."""
    found = db.session.execute(
        staff_patients(staff)
        .add_columns(Infusion)
        .join(Infusion, Infusion.patient_id == Patient.id)
        .where(Infusion.id == parse_id(infusion_id))
    ).first()
    if found is None:
        raise NotFound("No such infusion.")
    patient, infusion = found
    return infusion, patient


def staff_users(admin: User) -> sa.Select[tuple[User]]:
    """The clinic's staff accounts, for its admin."""
    if admin.role != "admin":
        raise Forbidden("Only a clinic admin may manage staff.")
    return sa.select(User).where(User.clinic_id == admin.clinic_id, User.role.in_(("clinician", "admin")))
