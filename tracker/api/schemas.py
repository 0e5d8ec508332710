"""The API's schemas: they validate requests and generate the OpenAPI document (API.md)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from tracker.models.checkin import DIAGNOSES, SEVERITIES, SOURCES
from tracker.models.patient import PHASES


class StrictInteger(fields.Integer):
    """An integer and only an integer: JSON true, 1.0 and "1" are refused, not coerced."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return int(super()._deserialize(value, attr, data, **kwargs))


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


class CheckInPageSchema(Schema):
    items = fields.List(fields.Nested(CheckInSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


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


class PatientSummaryPageSchema(Schema):
    items = fields.List(fields.Nested(PatientSummarySchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
