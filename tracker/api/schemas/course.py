"""A patient's record for the clinic: settings, outcome, what is open, and changes to it (API.md, Clinician)."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from typing import Any

from marshmallow import Schema, fields, validate

from tracker.api.schemas.boosters import BoosterRequestSchema
from tracker.api.schemas.clinic import PatientSchema
from tracker.api.schemas.common import Strict, display_name_field, timezone_field
from tracker.api.schemas.patient import RemindersPatchSchema
from tracker.models.patient import PHASES
from tracker.services.course.queries import PatientDetail


class OutcomeSchema(Schema):
    """Dumps an outcomes.Outcome (CLINICAL.md §4)."""

    baseline = fields.Integer(allow_none=True, required=True)
    current = fields.Integer(allow_none=True, required=True)
    change = fields.Integer(allow_none=True, required=True)
    response = fields.Boolean(allow_none=True, required=True)
    remission = fields.Boolean(allow_none=True, required=True)
    reference_low = fields.Integer(allow_none=True, required=True)


_DETAIL_OWN = frozenset(f.name for f in dataclass_fields(PatientDetail)) - {"patient"}


class PatientDetailSchema(PatientSchema):
    """Dumps a course PatientDetail: the patient's own fields from its patient, then what the detail adds."""

    outcome = fields.Nested(OutcomeSchema, required=True)
    open_booster_request = fields.Nested(BoosterRequestSchema, allow_none=True, required=True)
    open_alerts = fields.Integer(required=True)

    def get_attribute(self, obj: PatientDetail, attr: str, default: Any) -> Any:
        return super().get_attribute(obj if attr in _DETAIL_OWN else obj.patient, attr, default)


class PatientPatchSchema(Strict):
    phase = fields.String(validate=validate.OneOf(PHASES))
    phase_reason = fields.String(validate=validate.Length(max=500))
    display_name = display_name_field()
    timezone = timezone_field()
    reminders = fields.Nested(RemindersPatchSchema)
