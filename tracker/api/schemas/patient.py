"""The patient's own profile, /me, and the reminder settings in it (API.md, Patient)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from tracker.api.schemas.common import ClockTime, NestedFrom, Strict, StrictBoolean, timezone_field
from tracker.api.schemas.infusions import PatientInfusionSchema
from tracker.api.schemas.safety import CrisisResourceSchema
from tracker.instruments import schedule as instrument_schedule
from tracker.models.patient import PHASES
from tracker.services.checkins import due as checkins_due
from tracker.services.course import queries as course_queries


class ClinicRefSchema(Schema):
    """Dumps a Clinic."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    phone = fields.String(allow_none=True, required=True)


class RemindersSchema(Schema):
    """Dumps a patient's `reminders` (models.patient.Reminders)."""

    enabled = fields.Boolean(required=True)
    local_time = fields.Time(
        format="%H:%M", required=True, metadata={"description": "HH:MM in the patient's time zone"}
    )
    channel = fields.String(required=True)


class MeSchema(Schema):
    """Dumps the caller's Patient."""

    id = fields.String(required=True)
    display_name = fields.String(required=True)
    clinic = fields.Nested(ClinicRefSchema, required=True)
    phase = fields.String(required=True, validate=validate.OneOf(PHASES))
    timezone = fields.String(required=True)
    reminders = fields.Nested(RemindersSchema, required=True)
    sms_opted_out = fields.Boolean(required=True)
    crisis_resources = fields.List(
        fields.Nested(CrisisResourceSchema),
        required=True,
        attribute="clinic.crisis_resources.listed",
        metadata={"description": "the clinic's crisis lines, emergency number and phone"},
    )
    next_visit = NestedFrom(
        PatientInfusionSchema,
        course_queries.next_visit_for_patient,
        allow_none=True,
        required=True,
        metadata={"description": "the next booked infusion, or null"},
    )
    # CLINICAL.md §7: what the clinic's schedule asks of the patient now, in the order to ask it.
    due = fields.Function(
        checkins_due.due_for,
        required=True,
        metadata={
            "type": "array",
            "items": {"type": "string", "enum": list(instrument_schedule.INSTRUMENT_NAMES)},
            "description": 'the questionnaires due now, PHQ-9 first, e.g. ["phq9", "gad7"]; [] when none is',
        },
    )


class RemindersPatchSchema(Strict):
    enabled = StrictBoolean()
    local_time = ClockTime()
    channel = fields.String(validate=validate.OneOf(["sms"]))


class MePatchSchema(Strict):
    timezone = timezone_field()
    reminders = fields.Nested(RemindersPatchSchema)
