"""A patient's other medicines for clinic staff (CLINICAL.md §7): list, add, change, remove."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from tracker.api.auth import api_user, token_required
from tracker.api.idempotency import idempotent
from tracker.api.schemas.medicines import (
    MedicineCreateSchema,
    MedicineListSchema,
    MedicinePatchSchema,
    MedicineSchema,
)
from tracker.models.user import STAFF_ROLES
from tracker.services import scope
from tracker.services.clinic import medicines

bp = Blueprint(
    "api_medicines", __name__, url_prefix="/api/v1/clinic", description="A patient's other medicines, own clinic only"
)


@bp.route("/patients/<patient_id>/medicines", methods=["GET"])
@token_required(*STAFF_ROLES)
@bp.response(200, MedicineListSchema)
def list_medicines(patient_id: str) -> dict[str, Any]:
    """The patient's medicines, current first; a current one on the clinic's list is marked for review."""
    return {"items": medicines.list_for_staff(api_user(), patient_id).rows}


@bp.route("/patients/<patient_id>/medicines", methods=["POST"])
@token_required(*STAFF_ROLES)
@idempotent
@bp.arguments(MedicineCreateSchema)
@bp.response(201, MedicineSchema)
def add_medicine(body: dict[str, Any], patient_id: str) -> medicines.MedicineRow:
    staff = api_user()
    patient = scope.get_patient_for_staff(staff, patient_id)
    medicine = medicines.add(staff, patient, body["name"], body["dose"], body["since"], body["until"])
    return medicines.row_of(medicine, patient.clinic)


@bp.route("/medicines/<medicine_id>", methods=["PATCH"])
@token_required(*STAFF_ROLES)
@bp.arguments(MedicinePatchSchema)
@bp.response(200, MedicineSchema)
def patch_medicine(body: dict[str, Any], medicine_id: str) -> medicines.MedicineRow:
    staff = api_user()
    medicine, patient = medicines.get_for_staff(staff, medicine_id)
    medicines.update(staff, medicine, patient, **body)
    return medicines.row_of(medicine, patient.clinic)


@bp.route("/medicines/<medicine_id>", methods=["DELETE"])
@token_required(*STAFF_ROLES)
@bp.response(204)
def delete_medicine(medicine_id: str) -> None:
    """Remove an entry made in error (PATCH `until` records that the patient stopped it)."""
    staff = api_user()
    medicine, patient = medicines.get_for_staff(staff, medicine_id)
    medicines.remove(staff, medicine, patient)
