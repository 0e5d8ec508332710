"""A patient's other medicines on the clinic's patient page (CLINICAL.md §7): add one, end one, remove one entered
in error. Each a POST that calls one service, commits once and redirects back, or shows the page again with the
problem beside its field."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from flask_login import current_user

from tracker.services import scope
from tracker.services.clinic import medicines
from tracker.web.clinic_actions import _attempt
from tracker.web.clinic_base import bp
from tracker.web.medicine_forms import EndMedicineForm, MedicineForm, RemoveMedicineForm, end_prefix, remove_prefix
from tracker.web.roles import staff_required

ANCHOR = "medicines"


@bp.route("/patients/<patient_id>/medicines", methods=["POST"])
@staff_required
def add_medicine(patient_id: str) -> ResponseReturnValue:
    patient = scope.get_patient_for_staff(current_user, patient_id)
    form = MedicineForm(prefix="medicine")

    def act() -> str:
        medicine = medicines.add(
            current_user, patient, form.name.data, form.dose.data, form.since.data, form.until.data
        )
        return f"{medicine.name} added to the medicines."

    return _attempt(patient.id, "medicine", form, act, ANCHOR)


@bp.route("/medicines/<medicine_id>/end", methods=["POST"])
@staff_required
def end_medicine(medicine_id: str) -> ResponseReturnValue:
    medicine, patient = medicines.get_for_staff(current_user, medicine_id)
    form = EndMedicineForm(prefix=end_prefix(medicine.id))

    def act() -> str:
        medicines.end(current_user, medicine, patient, form.until.data)
        return f"{medicine.name} ended."

    return _attempt(patient.id, f"med-end:{medicine.id}", form, act, ANCHOR)


@bp.route("/medicines/<medicine_id>/remove", methods=["POST"])
@staff_required
def remove_medicine(medicine_id: str) -> ResponseReturnValue:
    medicine, patient = medicines.get_for_staff(current_user, medicine_id)
    form = RemoveMedicineForm(prefix=remove_prefix(medicine.id))
    name = medicine.name

    def act() -> str:
        medicines.remove(current_user, medicine, patient)
        return f"{name} removed from the list."

    return _attempt(patient.id, f"med-remove:{medicine.id}", form, act, ANCHOR)
