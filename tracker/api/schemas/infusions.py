"""Infusions: the patient's own view, the clinic's record of them, and changes to it (API.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, missing, validate

from tracker.api.schemas.common import Moment, Strict, StrictBoolean, StrictFloat, StrictInteger, page_of
from tracker.models import Infusion
from tracker.models.infusion import INFUSION_KINDS, INFUSION_STATUSES
from tracker.services.course.writes import InfusionResult
from tracker.vitals import CAUTION, HEART_RATE_LIMITS, HOLD, SPO2_LIMITS

BP_PATTERN = r"^\d{2,3}/\d{2,3}$"


class Reading(fields.String):
    """A blood pressure reading, "120/80", or null.

    It dumps a (systolic, diastolic) pair, or, given `columns`, the two attributes that hold them.
    """

    def __init__(self, columns: tuple[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns = columns

    def get_value(
        self,
        obj: Any,
        attr: str,
        accessor: Callable[[Any, str, Any], Any] | None = None,
        default: Any = missing,
    ) -> Any:
        if self.columns is None:
            return super().get_value(obj, attr, accessor, default)
        systolic_column, diastolic_column = self.columns
        systolic = super().get_value(obj, systolic_column, accessor, None)
        diastolic = super().get_value(obj, diastolic_column, accessor, None)
        return None if systolic is None or diastolic is None else (systolic, diastolic)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else f"{value[0]}/{value[1]}"


class WarningSchema(Schema):
    """Dumps an errors.FieldProblem: a value outside the usual range, shown and not refused."""

    field = fields.String(required=True)
    message = fields.String(required=True)


class VitalCheckSchema(Schema):
    """Dumps a vitals.VitalCheck: a blood pressure reading at the caution or hold-and-review level."""

    field = fields.String(required=True, metadata={"example": "bp_before"})
    level = fields.String(required=True, validate=validate.OneOf((CAUTION, HOLD)))
    message = fields.String(required=True)


class PatientInfusionSchema(Schema):
    """An infusion as its patient sees it: no clinical notes. Dumps a course PatientInfusion."""

    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(INFUSION_KINDS))
    status = fields.String(required=True, validate=validate.OneOf(INFUSION_STATUSES))
    scheduled_for = fields.AwareDateTime(allow_none=True, required=True)
    given_at = fields.AwareDateTime(allow_none=True, required=True)
    dose_mg_per_kg = fields.Float(allow_none=True, required=True)
    weight_kg = fields.Float(allow_none=True, required=True)
    total_mg = fields.Float(allow_none=True, required=True)
    duration_min = fields.Integer(allow_none=True, required=True)
    bp_before = Reading(allow_none=True, required=True, metadata={"example": "120/80"})
    bp_during = Reading(allow_none=True, required=True)
    bp_after = Reading(allow_none=True, required=True)
    observed_min = fields.Integer(allow_none=True, required=True)
    ride_home_confirmed = fields.Boolean(allow_none=True, required=True)
    booster_request_id = fields.String(allow_none=True, required=True)


class InfusionSchema(PatientInfusionSchema):
    """An infusion as staff see it. Dumps an Infusion, or a course InfusionResult: the infusion and its warnings."""

    bp_before = Reading(
        ("bp_before_systolic", "bp_before_diastolic"), allow_none=True, required=True, metadata={"example": "120/80"}
    )
    bp_during = Reading(("bp_during_systolic", "bp_during_diastolic"), allow_none=True, required=True)
    bp_after = Reading(("bp_after_systolic", "bp_after_diastolic"), allow_none=True, required=True)
    heart_rate_before = fields.Integer(allow_none=True, required=True)
    heart_rate_during = fields.Integer(allow_none=True, required=True)
    heart_rate_after = fields.Integer(allow_none=True, required=True)
    spo2_before = fields.Integer(allow_none=True, required=True)
    spo2_during = fields.Integer(allow_none=True, required=True)
    spo2_after = fields.Integer(allow_none=True, required=True)
    bp_hold_confirmed = fields.Boolean(
        required=True,
        metadata={"description": "given with a blood pressure at the clinic's hold-and-review level, confirmed"},
    )
    vital_checks = fields.List(
        fields.Nested(VitalCheckSchema),
        required=True,
        metadata={"description": "readings at or above 140/90 (caution), and a confirmed hold"},
    )
    notes = fields.String(allow_none=True, required=True)
    warnings = fields.List(fields.Nested(WarningSchema), required=True)

    def get_attribute(self, obj: Infusion | InfusionResult, attr: str, default: Any) -> Any:
        if isinstance(obj, InfusionResult):
            return obj.warnings if attr == "warnings" else super().get_attribute(obj.infusion, attr, default)
        return [] if attr == "warnings" else super().get_attribute(obj, attr, default)


InfusionPageSchema = page_of(InfusionSchema)


PatientInfusionPageSchema = page_of(PatientInfusionSchema)


def _vital(limits: tuple[int, int], unit: str) -> StrictInteger:
    return StrictInteger(
        allow_none=True, validate=validate.Range(min=limits[0], max=limits[1]), metadata={"description": unit}
    )


class InfusionChangeSchema(Strict):
    scheduled_for = Moment(allow_none=True, metadata={"description": "a booking (status scheduled): after now"})
    given_at = Moment(allow_none=True)
    dose_mg_per_kg = StrictFloat(allow_none=True, validate=validate.Range(min=0))
    weight_kg = StrictFloat(allow_none=True, validate=validate.Range(min=0))
    duration_min = StrictInteger(allow_none=True)
    bp_before = fields.String(
        allow_none=True, validate=validate.Regexp(BP_PATTERN, error="use systolic/diastolic, e.g. 120/80")
    )
    bp_during = fields.String(
        allow_none=True,
        validate=validate.Regexp(BP_PATTERN, error="use systolic/diastolic, e.g. 120/80"),
        metadata={"description": "about 40 minutes into the dose"},
    )
    bp_after = fields.String(
        allow_none=True,
        validate=validate.Regexp(BP_PATTERN, error="use systolic/diastolic, e.g. 120/80"),
        metadata={"description": "before discharge"},
    )
    heart_rate_before = _vital(HEART_RATE_LIMITS, "beats a minute")
    heart_rate_during = _vital(HEART_RATE_LIMITS, "beats a minute")
    heart_rate_after = _vital(HEART_RATE_LIMITS, "beats a minute")
    spo2_before = _vital(SPO2_LIMITS, "%")
    spo2_during = _vital(SPO2_LIMITS, "%")
    spo2_after = _vital(SPO2_LIMITS, "%")
    # CLINICAL.md §7: giving an infusion with a reading at the clinic's hold level is refused (422) without this;
    # so are a heart rate or SpO2 outside the usual range, a ride home not confirmed, and an unusual day.
    hold_confirmed = StrictBoolean(
        load_default=False,
        metadata={
            "description": "the clinician confirms giving it with a blood pressure at the clinic's hold level, a "
            "heart rate outside 50-120 or SpO2 under 90%, the ride home not confirmed, or on another day than "
            "booked or than another infusion given; or a booking at the time or on the day of another booking"
        },
    )
    observed_min = StrictInteger(allow_none=True)
    ride_home_confirmed = StrictBoolean(allow_none=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))
    status = fields.String(validate=validate.OneOf(INFUSION_STATUSES))
    kind = fields.String(validate=validate.OneOf(INFUSION_KINDS))
    # Why it changed: required to correct a given infusion's values; kept in the audit log with the old values.
    reason = fields.String(allow_none=True, validate=validate.Length(max=500))


class InfusionCreateSchema(InfusionChangeSchema):
    class Meta:
        exclude = ("reason",)

    kind = fields.String(required=True, validate=validate.OneOf(INFUSION_KINDS))
    status = fields.String(required=True, validate=validate.OneOf(["scheduled", "given"]))
    booster_request_id = fields.String(allow_none=True, validate=validate.Length(max=64))
