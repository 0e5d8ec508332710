"""A patient's other medicines, kept by staff (CLINICAL.md §7)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from tracker.api.schemas.common import Strict
from tracker.api.schemas.one_line import OneLine
from tracker.models.medicine import DOSE_MAX, NAME_MAX
from tracker.services.clinic.medicines import MedicineRow


def _name(**kwargs: Any) -> OneLine:
    return OneLine(validate=validate.Length(min=1, max=NAME_MAX), **kwargs)


def _dose(**kwargs: Any) -> OneLine:
    return OneLine(allow_none=True, validate=validate.Length(max=DOSE_MAX), **kwargs)


def _day(description: str = "", **kwargs: Any) -> fields.Date:
    words = f"a date from 1900 to 2100{'; ' + description if description else ''}"
    return fields.Date(allow_none=True, metadata={"description": words}, **kwargs)


class MedicineSchema(Schema):
    """Dumps a MedicineRow: the medicine, whether it is taken today, and whether the clinic reviews it."""

    id = fields.String(required=True)
    patient_id = fields.String(required=True)
    name = fields.String(required=True)
    dose = fields.String(allow_none=True, required=True)
    since = fields.Date(allow_none=True, required=True)
    until = fields.Date(allow_none=True, required=True, metadata={"description": "null while the patient takes it"})
    current = fields.Boolean(required=True)
    review_before_infusion = fields.Boolean(
        required=True, metadata={"description": "a current medicine on the clinic's list to review (never advice)"}
    )
    review_match = fields.String(
        allow_none=True, required=True, metadata={"description": "the entry of the clinic's list it matched"}
    )

    def get_attribute(self, obj: MedicineRow, attr: str, default: Any) -> Any:
        if attr == "current":
            return obj.current
        if attr == "review_before_infusion":
            return obj.review is not None
        if attr == "review_match":
            return obj.review.words if obj.review is not None else None
        return super().get_attribute(obj.medicine, attr, default)


class MedicineListSchema(Schema):
    items = fields.List(fields.Nested(MedicineSchema), required=True, metadata={"description": "current first"})


class MedicineCreateSchema(Strict):
    name = _name(required=True)
    dose = _dose(load_default=None)
    since = _day(load_default=None)
    until = _day("on or after since; leave out while taken", load_default=None)


class MedicinePatchSchema(Strict):
    """Only the fields sent change; `until` set ends the medicine, null makes it current again."""

    name = _name()
    dose = _dose()
    since = _day()
    until = _day()
