"""The clinic's side: enrolling patients, the patient list, the clinic's settings (API.md, Clinician)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from tracker import clock
from tracker.api.schemas.common import (
    ClockTime,
    NestedFrom,
    QueryBoolean,
    Strict,
    StrictInteger,
    cursor_field,
    display_name_field,
    limit_field,
    page_of,
    timezone_field,
)
from tracker.api.schemas.one_line import OneLine
from tracker.api.schemas.patient import RemindersSchema
from tracker.api.schemas.safety import CrisisLineSchema, CrisisResourceSchema
from tracker.api.schemas.schedule import InstrumentSchedulePatchSchema, InstrumentScheduleSchema
from tracker.instruments import schedule as instrument_schedule
from tracker.local_time import zone_of
from tracker.models.patient import PHASES
from tracker.services.clinic.patient_list import PatientSummary


class PatientCreateSchema(Strict):
    display_name = display_name_field(required=True)
    phone = OneLine(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={
            "example": "+13125550123",
            "format": "phone",
            "description": "a mobile number that can be dialled (libphonenumber), best in E.164",
        },
    )
    email = OneLine(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=254),
        metadata={"format": "email"},
    )
    timezone = timezone_field(required=True)
    phase = fields.String(load_default="screening", validate=validate.OneOf(PHASES))


class PatientSchema(Schema):
    """Dumps a Patient."""

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
    q = OneLine(load_default=None, validate=validate.Length(max=100))
    needs_attention = QueryBoolean(load_default=None)
    sort = fields.String(
        load_default="name", validate=validate.OneOf(["name", "latest_total", "change", "days_since_last"])
    )
    order = fields.String(load_default="asc", validate=validate.OneOf(["asc", "desc"]))
    limit = limit_field()
    cursor = cursor_field()


class OpenRequestRefSchema(Schema):
    """Dumps a PatientSummary that has an open booster request: that request, in brief."""

    id = fields.String(required=True, attribute="open_request_id")
    status = fields.String(required=True, attribute="open_request_status")
    urgency = fields.String(required=True, attribute="open_request_urgency")


def _with_open_request(summary: PatientSummary) -> PatientSummary | None:
    return summary if summary.open_request_id is not None else None


class PatientSummarySchema(Schema):
    """Dumps a patient_list.PatientSummary: its patient, the latest score and what is open."""

    id = fields.String(required=True, attribute="patient.id")
    display_name = fields.String(required=True, attribute="patient.display_name")
    phase = fields.String(required=True, validate=validate.OneOf(PHASES), attribute="patient.phase")
    latest_total = fields.Integer(allow_none=True, required=True)
    latest_severity = fields.String(allow_none=True, required=True)
    latest_at = fields.AwareDateTime(allow_none=True, required=True)
    change_from_baseline = fields.Integer(allow_none=True, required=True)
    days_since_last_checkin = fields.Method(
        "_days_since_last", allow_none=True, required=True, metadata={"type": "integer"}
    )
    open_alerts = fields.Integer(required=True)
    open_booster_request = NestedFrom(OpenRequestRefSchema, _with_open_request, allow_none=True, required=True)

    def _days_since_last(self, summary: PatientSummary) -> int | None:
        # The clinic's calendar days, as its pages say them ("yesterday" after midnight there, not in UTC).
        return summary.days_since_last(clock.now(), zone_of(summary.patient.clinic.timezone))


PatientSummaryPageSchema = page_of(PatientSummarySchema)


class ClinicSettingsSchema(Schema):
    """Dumps a Clinic: its settings (CLINICAL.md §5 thresholds, reminder defaults, contacts, time zone)."""

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
    bp_hold_systolic = fields.Integer(required=True, metadata={"description": "systolic hold-and-review level"})
    bp_hold_diastolic = fields.Integer(required=True, metadata={"description": "diastolic hold-and-review level"})
    reminder_weekday = fields.Integer(required=True)
    reminder_local_time = fields.Time(format="%H:%M", required=True)
    quiet_start = fields.Time(format="%H:%M", required=True)
    quiet_end = fields.Time(format="%H:%M", required=True)
    # CLINICAL.md §3: the crisis resources follow the country; the admin may enter lines and numbers instead.
    country = fields.String(
        allow_none=True, required=True, metadata={"description": "ISO 3166-1 alpha-2, e.g. GB; picks the crisis lines"}
    )
    crisis_lines = fields.List(
        fields.Nested(CrisisLineSchema),
        allow_none=True,
        required=True,
        metadata={"description": "the admin's crisis lines in place of the country's built-in ones; null: those"},
    )
    emergency_numbers = fields.List(
        fields.String(),
        allow_none=True,
        required=True,
        metadata={"description": "the admin's emergency number(s) in place of the country's; null: the country's"},
    )
    crisis_resources = fields.List(
        fields.Nested(CrisisResourceSchema),
        required=True,
        attribute="crisis_resources.listed",
        metadata={"description": "what a patient who answers item 9 is given, the clinic's phone with them"},
    )
    # CLINICAL.md §7: which instruments each phase asks, and how often.
    instrument_schedule = NestedFrom(
        InstrumentScheduleSchema,
        lambda clinic: instrument_schedule.effective(clinic.instrument_schedule),
        required=True,
    )


class ClinicSettingsPatchSchema(Strict):
    name = OneLine(validate=validate.Length(min=1, max=200))
    timezone = timezone_field()
    phone = OneLine(allow_none=True, validate=validate.Length(max=32))
    oncall_phone = OneLine(allow_none=True, validate=validate.Length(max=32))
    backup_phone = OneLine(allow_none=True, validate=validate.Length(max=32))
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
    # CLINICAL.md §7: above the 140/90 caution; the service names a value out of range.
    bp_hold_systolic = StrictInteger(metadata={"description": "mmHg, 141–260; default 180"})
    bp_hold_diastolic = StrictInteger(metadata={"description": "mmHg, 91–160; default 110"})
    reminder_weekday = StrictInteger()
    reminder_local_time = ClockTime()
    quiet_start = ClockTime()
    quiet_end = ClockTime()
    country = OneLine(allow_none=True, validate=validate.Length(max=8))
    crisis_lines = fields.List(
        fields.Nested(CrisisLineSchema),
        allow_none=True,
        validate=validate.Length(max=10),
        metadata={"description": "at most 3; null or [] goes back to the country's built-in lines"},
    )
    emergency_numbers = fields.List(
        OneLine(validate=validate.Length(max=20)),
        allow_none=True,
        validate=validate.Length(max=10),
        metadata={"description": 'e.g. ["112", "999"]; null or [] goes back to the country\'s'},
    )
    instrument_schedule = fields.Nested(InstrumentSchedulePatchSchema)
