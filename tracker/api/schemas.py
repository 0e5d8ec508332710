"""The API's schemas: they validate requests and generate the OpenAPI document (API.md)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from tracker.models.alert import ALERT_KINDS, ALERT_STATUSES, RISK_LEVELS
from tracker.models.booster import RAISED_BY, REQUEST_STATUSES, URGENCIES
from tracker.models.checkin import DIAGNOSES, SEVERITIES, SOURCES
from tracker.models.infusion import INFUSION_KINDS, INFUSION_STATUSES
from tracker.models.patient import PHASES


class StrictInteger(fields.Integer):
    """An integer and only an integer: JSON true, 1.0 and "1" are refused, not coerced."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return int(super()._deserialize(value, attr, data, **kwargs))


def page_of(item: type[Schema]) -> type[Schema]:
    """A list answer (API.md): `{"items": [...], "next_cursor": "..." | null}`, named after its items."""
    name = item.__name__.removesuffix("Schema") + "PageSchema"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(allow_none=True, required=True),
        },
        name=name,
    )


class Strict(Schema):
    """Unknown fields are an error (marshmallow's default), named in the problem's errors."""


class ProblemFieldSchema(Schema):
    field = fields.String(required=True)
    message = fields.String(required=True)


class ProblemSchema(Schema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Nested(ProblemFieldSchema))


# Authentication


class TokenRequestSchema(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class InvitationAcceptSchema(Strict):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True)
    role = fields.String(required=True)


# The patient


class ClinicRefSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class RemindersSchema(Schema):
    enabled = fields.Boolean(required=True)
    local_time = fields.String(required=True, metadata={"description": "HH:MM in the patient's time zone"})
    channel = fields.String(required=True)


class MeSchema(Schema):
    id = fields.String(required=True)
    display_name = fields.String(required=True)
    clinic = fields.Nested(ClinicRefSchema, required=True)
    phase = fields.String(required=True, validate=validate.OneOf(PHASES))
    timezone = fields.String(required=True)
    reminders = fields.Nested(RemindersSchema, required=True)
    sms_opted_out = fields.Boolean(required=True)


class RemindersPatchSchema(Strict):
    enabled = fields.Boolean()
    local_time = fields.Time(format="%H:%M", metadata={"description": "HH:MM, 24-hour"})
    channel = fields.String(validate=validate.OneOf(["sms"]))


class MePatchSchema(Strict):
    timezone = fields.String(validate=validate.Length(min=1, max=64))
    reminders = fields.Nested(RemindersPatchSchema)


class AnswerOptionSchema(Schema):
    value = fields.Integer(required=True)
    text = fields.String(required=True)
    loinc = fields.String(required=True)


class ItemSchema(Schema):
    number = fields.Integer(required=True)
    text = fields.String(required=True)
    loinc = fields.String(required=True)


class DifficultySchema(Schema):
    text = fields.String(required=True)
    loinc = fields.String(required=True)
    options = fields.List(fields.Nested(AnswerOptionSchema), required=True)


class InstrumentSchema(Schema):
    name = fields.String(required=True)
    title = fields.String(required=True)
    stem = fields.String(required=True)
    loinc = fields.String(required=True)
    total_loinc = fields.String(required=True)
    items = fields.List(fields.Nested(ItemSchema), required=True)
    options = fields.List(fields.Nested(AnswerOptionSchema), required=True)
    difficulty = fields.Nested(DifficultySchema, allow_none=True, required=True)


# Check-ins


class CheckInCreateSchema(Strict):
    instrument = fields.String(required=True, validate=validate.OneOf(["phq9", "gad7"]))
    answers = fields.List(
        StrictInteger(validate=validate.Range(min=0, max=3)),
        required=True,
        validate=validate.Length(min=1, max=9),
        metadata={"description": "one answer per item, 0–3: nine for phq9, seven for gad7"},
    )
    difficulty = StrictInteger(load_default=None, allow_none=True, validate=validate.Range(min=0, max=3))


class ClinicCheckInCreateSchema(CheckInCreateSchema):
    taken_at = fields.AwareDateTime(required=True, metadata={"description": "RFC 3339 with offset; not in the future"})


class CrisisResourceSchema(Schema):
    name = fields.String(required=True)
    phone = fields.String(required=True)
    text = fields.String(required=True)


class SafetySchema(Schema):
    message = fields.String(required=True)
    resources = fields.List(fields.Nested(CrisisResourceSchema), required=True)


class CheckInSchema(Schema):
    id = fields.String(required=True)
    instrument = fields.String(required=True)
    taken_at = fields.AwareDateTime(required=True)
    answers = fields.List(fields.Integer(), required=True)
    difficulty = fields.Integer(allow_none=True, required=True)
    total = fields.Integer(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    diagnosis = fields.String(allow_none=True, required=True, validate=validate.OneOf(DIAGNOSES))
    item9_positive = fields.Boolean(required=True)
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    safety = fields.Nested(SafetySchema, allow_none=True, required=True)


class PageArgsSchema(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))


CheckInPageSchema = page_of(CheckInSchema)


# Clinic


class PatientCreateSchema(Strict):
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    phone = fields.String(required=True, validate=validate.Length(min=1, max=32), metadata={"example": "+13125550123"})
    email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=254))
    timezone = fields.String(required=True, validate=validate.Length(min=1, max=64))
    phase = fields.String(load_default="screening", validate=validate.OneOf(PHASES))


class PatientSchema(Schema):
    id = fields.String(required=True)
    display_name = fields.String(required=True)
    phone = fields.String(required=True)
    timezone = fields.String(required=True)
    phase = fields.String(required=True, validate=validate.OneOf(PHASES))
    sms_opted_out = fields.Boolean(required=True)
    reminders = fields.Nested(RemindersSchema, required=True)
    created_at = fields.AwareDateTime(required=True)


class PatientListArgsSchema(Strict):
    phase = fields.String(load_default=None, validate=validate.OneOf(PHASES))
    q = fields.String(load_default=None, validate=validate.Length(max=100))
    needs_attention = fields.Boolean(load_default=None, allow_none=True)
    sort = fields.String(
        load_default="name", validate=validate.OneOf(["name", "latest_total", "change", "days_since_last"])
    )
    order = fields.String(load_default="asc", validate=validate.OneOf(["asc", "desc"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=100))


class OpenRequestRefSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    urgency = fields.String(required=True)


class PatientSummarySchema(Schema):
    id = fields.String(required=True)
    display_name = fields.String(required=True)
    phase = fields.String(required=True, validate=validate.OneOf(PHASES))
    latest_total = fields.Integer(allow_none=True, required=True)
    latest_severity = fields.String(allow_none=True, required=True)
    latest_at = fields.AwareDateTime(allow_none=True, required=True)
    change_from_baseline = fields.Integer(allow_none=True, required=True)
    days_since_last_checkin = fields.Integer(allow_none=True, required=True)
    open_alerts = fields.Integer(required=True)
    open_booster_request = fields.Nested(OpenRequestRefSchema, allow_none=True, required=True)


PatientSummaryPageSchema = page_of(PatientSummarySchema)


# The course: infusions, booster requests, alerts, the patient's record, the clinic's settings

BP_PATTERN = r"^\d{2,3}/\d{2,3}$"


class WarningSchema(Schema):
    field = fields.String(required=True)
    message = fields.String(required=True)


class PatientInfusionSchema(Schema):
    """An infusion as its patient sees it: no clinical notes."""

    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(INFUSION_KINDS))
    status = fields.String(required=True, validate=validate.OneOf(INFUSION_STATUSES))
    scheduled_for = fields.AwareDateTime(allow_none=True, required=True)
    given_at = fields.AwareDateTime(allow_none=True, required=True)
    dose_mg_per_kg = fields.Float(allow_none=True, required=True)
    weight_kg = fields.Float(allow_none=True, required=True)
    total_mg = fields.Float(allow_none=True, required=True)
    duration_min = fields.Integer(allow_none=True, required=True)
    bp_before = fields.String(allow_none=True, required=True, metadata={"example": "120/80"})
    bp_after = fields.String(allow_none=True, required=True)
    observed_min = fields.Integer(allow_none=True, required=True)
    ride_home_confirmed = fields.Boolean(allow_none=True, required=True)
    booster_request_id = fields.String(allow_none=True, required=True)


class InfusionSchema(PatientInfusionSchema):
    notes = fields.String(allow_none=True, required=True)
    warnings = fields.List(fields.Nested(WarningSchema), required=True)


InfusionPageSchema = page_of(InfusionSchema)


PatientInfusionPageSchema = page_of(PatientInfusionSchema)


class InfusionChangeSchema(Strict):
    scheduled_for = fields.AwareDateTime(allow_none=True)
    given_at = fields.AwareDateTime(allow_none=True)
    dose_mg_per_kg = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(min=0))
    weight_kg = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(min=0))
    duration_min = StrictInteger(allow_none=True)
    bp_before = fields.String(
        allow_none=True, validate=validate.Regexp(BP_PATTERN, error="use systolic/diastolic, e.g. 120/80")
    )
    bp_after = fields.String(
        allow_none=True, validate=validate.Regexp(BP_PATTERN, error="use systolic/diastolic, e.g. 120/80")
    )
    observed_min = StrictInteger(allow_none=True)
    ride_home_confirmed = fields.Boolean(allow_none=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))
    status = fields.String(validate=validate.OneOf(INFUSION_STATUSES))
    kind = fields.String(validate=validate.OneOf(INFUSION_KINDS))


class InfusionCreateSchema(InfusionChangeSchema):
    kind = fields.String(required=True, validate=validate.OneOf(INFUSION_KINDS))
    status = fields.String(required=True, validate=validate.OneOf(["scheduled", "given"]))
    booster_request_id = fields.String(allow_none=True, validate=validate.Length(max=64))


class BoosterRequestSchema(Schema):
    id = fields.String(required=True)
    patient_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(REQUEST_STATUSES))
    urgency = fields.String(required=True, validate=validate.OneOf(URGENCIES))
    raised_by = fields.String(required=True, validate=validate.OneOf(RAISED_BY))
    raised_at = fields.AwareDateTime(required=True)
    evidence = fields.List(fields.String(), required=True)
    decided_by = fields.String(allow_none=True, required=True)
    decided_at = fields.AwareDateTime(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True)
    note = fields.String(allow_none=True, required=True)
    patient_reason = fields.String(allow_none=True, required=True)
    infusion_id = fields.String(allow_none=True, required=True)


BoosterRequestPageSchema = page_of(BoosterRequestSchema)


class BoosterRequestListArgsSchema(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(REQUEST_STATUSES))
    patient_id = fields.String(load_default=None, validate=validate.Length(max=64))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=100))


class ReasonSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class DecisionReasonSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class ApproveSchema(Strict):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class ScheduleSchema(Strict):
    scheduled_for = fields.AwareDateTime(required=True)


class ScheduleResultSchema(Schema):
    request = fields.Nested(BoosterRequestSchema, required=True)
    infusion = fields.Nested(InfusionSchema, required=True)


class AlertSchema(Schema):
    id = fields.String(required=True)
    patient_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ALERT_KINDS))
    reason = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ALERT_STATUSES))
    raised_at = fields.AwareDateTime(required=True)
    deadline = fields.AwareDateTime(allow_none=True, required=True)
    escalated_at = fields.AwareDateTime(allow_none=True, required=True)
    acknowledged_by = fields.String(allow_none=True, required=True)
    acknowledged_at = fields.AwareDateTime(allow_none=True, required=True)
    note = fields.String(allow_none=True, required=True)
    risk_level = fields.String(allow_none=True, required=True, validate=validate.OneOf(RISK_LEVELS))


AlertPageSchema = page_of(AlertSchema)


class AlertListArgsSchema(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(ALERT_STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=100))


class AcknowledgeSchema(Strict):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    risk_level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(RISK_LEVELS))


class OutcomeSchema(Schema):
    baseline = fields.Integer(allow_none=True, required=True)
    current = fields.Integer(allow_none=True, required=True)
    change = fields.Integer(allow_none=True, required=True)
    response = fields.Boolean(allow_none=True, required=True)
    remission = fields.Boolean(allow_none=True, required=True)
    reference_low = fields.Integer(allow_none=True, required=True)


class PatientDetailSchema(PatientSchema):
    outcome = fields.Nested(OutcomeSchema, required=True)
    open_booster_request = fields.Nested(BoosterRequestSchema, allow_none=True, required=True)
    open_alerts = fields.Integer(required=True)


class PatientPatchSchema(Strict):
    phase = fields.String(validate=validate.OneOf(PHASES))
    phase_reason = fields.String(validate=validate.Length(max=500))
    display_name = fields.String(validate=validate.Length(min=1, max=120))
    timezone = fields.String(validate=validate.Length(min=1, max=64))
    reminders = fields.Nested(RemindersPatchSchema)


class ClinicSettingsSchema(Schema):
    name = fields.String(required=True)
    timezone = fields.String(required=True)
    phone = fields.String(allow_none=True, required=True)
    oncall_phone = fields.String(allow_none=True, required=True)
    backup_phone = fields.String(allow_none=True, required=True)
    signal_min_total = fields.Integer(required=True)
    signal_min_rise = fields.Integer(required=True)
    confirm_min_days = fields.Integer(required=True)
    confirm_max_days = fields.Integer(required=True)
    urgent_min_total = fields.Integer(required=True)
    induction_infusion_count = fields.Integer(required=True)
    post_induction_phase = fields.String(required=True)
    safety_ack_minutes = fields.Integer(required=True)
    missed_checkin_grace_days = fields.Integer(required=True)
    missed_checkin_alert_days = fields.Integer(required=True)
    reminder_weekday = fields.Integer(required=True)
    reminder_local_time = fields.String(required=True)
    quiet_start = fields.String(required=True)
    quiet_end = fields.String(required=True)


class ClinicSettingsPatchSchema(Strict):
    name = fields.String(validate=validate.Length(min=1, max=200))
    timezone = fields.String(validate=validate.Length(min=1, max=64))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    oncall_phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    backup_phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    signal_min_total = StrictInteger()
    signal_min_rise = StrictInteger()
    confirm_min_days = StrictInteger()
    confirm_max_days = StrictInteger()
    urgent_min_total = StrictInteger()
    induction_infusion_count = StrictInteger()
    post_induction_phase = fields.String()
    safety_ack_minutes = StrictInteger()
    missed_checkin_grace_days = StrictInteger()
    missed_checkin_alert_days = StrictInteger()
    reminder_weekday = StrictInteger()
    reminder_local_time = fields.Time(format="%H:%M")
    quiet_start = fields.Time(format="%H:%M")
    quiet_end = fields.Time(format="%H:%M")
