"""The forms of a patient's other medicines (CLINICAL.md §7), on the clinic's patient page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import Length, Optional

from tracker.services.clinic import medicines
from tracker.web.clinic_forms import blank_to_none
from tracker.web.one_line import OneLineField


class MedicineForm(FlaskForm):
    name = OneLineField("Medicine", filters=[blank_to_none], validators=[Length(max=100)])
    dose = OneLineField(
        "Dose (optional)",
        filters=[blank_to_none],
        validators=[Length(max=100)],
        render_kw={"placeholder": "1 mg at night"},
    )
    since = DateField("Since (optional)", validators=[Optional()])
    until = DateField("Until (optional)", validators=[Optional()], description="Blank while the patient takes it.")


class EndMedicineForm(FlaskForm):
    until = DateField("Stopped on", validators=[Optional()], description="Blank means today.")


class RemoveMedicineForm(FlaskForm):
    """Only its CSRF token: removing is for an entry made in error (the audit log keeps what it said)."""


def end_prefix(medicine_id: object) -> str:
    return f"med-end-{str(medicine_id)[:8]}"


def remove_prefix(medicine_id: object) -> str:
    return f"med-remove-{str(medicine_id)[:8]}"


def page_forms(rows: tuple[medicines.MedicineRow, ...]) -> dict[str, FlaskForm]:
    """The medicine forms of the patient's page, empty."""
    forms: dict[str, FlaskForm] = {"medicine": MedicineForm(formdata=None, prefix="medicine")}
    for row in rows:
        medicine_id = row.medicine.id
        if row.current:
            forms[f"med-end:{medicine_id}"] = EndMedicineForm(formdata=None, prefix=end_prefix(medicine_id))
        forms[f"med-remove:{medicine_id}"] = RemoveMedicineForm(formdata=None, prefix=remove_prefix(medicine_id))
    return forms
