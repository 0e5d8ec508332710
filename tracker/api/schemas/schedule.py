"""A clinic's instrument schedule in the API: which instruments each phase asks and how often (CLINICAL.md §7)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from tracker.api.schemas.common import Strict
from tracker.instruments import schedule

# CLINICAL.md §5: the relapse rule needs PHQ-9, so the document itself leaves "off" out for it.
PHQ9_INTERVALS = [interval for interval in schedule.INTERVALS if interval != schedule.OFF]
PHQ9_ERROR = "use one of {choices}. " + schedule.PHQ9_REQUIRED
DESCRIPTION = "weekly, every_2_weeks, monthly (every 4 weeks, on the reminder day) or off"


class PhaseScheduleSchema(Schema):
    """Dumps one phase's {instrument: interval}."""

    phq9 = fields.String(required=True, validate=validate.OneOf(PHQ9_INTERVALS))
    gad7 = fields.String(required=True, validate=validate.OneOf(schedule.INTERVALS))


class InstrumentScheduleSchema(Schema):
    """Dumps a clinic's whole schedule, every phase spelled out."""

    induction = fields.Nested(PhaseScheduleSchema, required=True)
    maintenance = fields.Nested(PhaseScheduleSchema, required=True)
    as_needed = fields.Nested(PhaseScheduleSchema, required=True)


class PhaseSchedulePatchSchema(Strict):
    phq9 = fields.String(
        validate=validate.OneOf(PHQ9_INTERVALS, error=PHQ9_ERROR), metadata={"description": "never off"}
    )
    gad7 = fields.String(validate=validate.OneOf(schedule.INTERVALS), metadata={"description": DESCRIPTION})


class InstrumentSchedulePatchSchema(Strict):
    """The phases to change; an instrument left out keeps its interval."""

    induction = fields.Nested(PhaseSchedulePatchSchema)
    maintenance = fields.Nested(PhaseSchedulePatchSchema)
    as_needed = fields.Nested(PhaseSchedulePatchSchema)
